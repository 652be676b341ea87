from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class QueryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cypher: str = Field(min_length=1, examples=["MATCH (n:Entity) RETURN n LIMIT 10"])
    parameters: dict[str, Any] = Field(default_factory=dict)
    timeout: float | None = Field(None, gt=0, description="Seconds; defaults to KUZU_QUERY_TIMEOUT.")


class QueryResponse(BaseModel):
    graph_id: str
    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    execution_time_ms: float
