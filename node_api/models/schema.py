"""Bodies of GET/POST /databases/{graph_id}/schema."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # the client imports these wire models: no engine modules at run time
    from node_api.backends.base import GraphSchema


class PropertyModel(BaseModel):
    name: str
    type: str
    primary_key: bool = False


class TableModel(BaseModel):
    name: str
    kind: str  # node | rel
    properties: Sequence[PropertyModel]  # Sequence: client/models.py narrows the item class
    from_tables: list[str] = Field(default_factory=list)
    to_tables: list[str] = Field(default_factory=list)
    comment: str | None = None


class SchemaResponse(BaseModel):
    graph_id: str
    # Sequence: client/models.py narrows the item class
    node_tables: Sequence[TableModel]
    rel_tables: Sequence[TableModel]
    indexes: list[dict[str, Any]]

    @classmethod
    def of(cls, graph_id: str, schema: GraphSchema) -> SchemaResponse:
        data = asdict(schema)
        by_name = lambda t: t["name"]  # noqa: E731 - the engine's own order is not stable
        return cls(graph_id=graph_id, node_tables=sorted(data["node_tables"], key=by_name),
                   rel_tables=sorted(data["rel_tables"], key=by_name),
                   indexes=[{k: (v if isinstance(v, (str, int, float, bool)) or v is None else str(v))
                             for k, v in idx.items()} for idx in data["indexes"]])


class ApplyDdlRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ddl: str = Field(
        min_length=1, max_length=200_000,
        description="Schema statements separated by ';' (CREATE NODE/REL TABLE, ALTER TABLE, indexes...). "
        "Applied in one transaction: all or nothing.",
        examples=["CREATE NODE TABLE Person(id INT64, name STRING, PRIMARY KEY(id))"],
    )


class ApplyDdlResponse(SchemaResponse):
    status: str = "success"
    statements_applied: int
    execution_time_ms: float
