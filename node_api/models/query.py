from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_VALUES = "Plain JSON where JSON is exact, else typed JSON {\"$type\", \"_value\"} (docs/result-values.md)."


class QueryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cypher: str = Field(min_length=1, examples=["MATCH (n:Entity) RETURN n LIMIT 10"])
    parameters: dict[str, Any] = Field(
        default_factory=dict, examples=[{"name": "Ann", "since": {"$type": "Date", "_value": "2024-01-02"}}],
        description="Values by name. " + _VALUES + " A value a query returned can be sent back as it is.")
    timeout: float | None = Field(None, gt=0, description="Seconds; defaults to KUZU_QUERY_TIMEOUT.")


class QueryResponse(BaseModel):
    graph_id: str
    columns: list[str]
    rows: list[list[Any]] = Field(description="One array per row, one value per column. " + _VALUES)
    row_count: int
    execution_time_ms: float
