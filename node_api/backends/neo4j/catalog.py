"""The node's record of one graph, kept inside the graph's own database as a single node.

Neo4j has no place for metadata beside the data, and the API may run as several tasks in front of
one server (spec: ECS service), so the record lives where every task can read it: one node labelled
META_LABEL holding graph_id, schema type, creation time and the declared tables as JSON. The backend
hides it from schema, statistics and backups; a tenant's `MATCH (n)` does see it (docs/neo4j-backend.md).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from node_api.backends.base import PropertyInfo, TableInfo

META_LABEL = "_GraphApiMeta"
RESTORE_LABEL = "_GraphApiRestoring"  # marks nodes a restore is loading, until it swaps them in


@dataclass
class GraphRecord:
    graph_id: str
    database: str
    schema_type: str
    created_at: datetime
    tables: dict[str, TableInfo] = field(default_factory=dict)
    ddl: list[str] = field(default_factory=list)  # every schema statement applied, replayed by restore

    def to_props(self) -> dict[str, Any]:
        return {
            "graph_id": self.graph_id,
            "schema_type": self.schema_type,
            "created_at": self.created_at.isoformat(),
            "tables": tables_json(self.tables.values()),
            "ddl": json.dumps(self.ddl),
        }

    @classmethod
    def from_props(cls, database: str, props: dict[str, Any]) -> GraphRecord:
        return cls(
            graph_id=str(props["graph_id"]),
            database=database,
            schema_type=str(props.get("schema_type", "custom")),
            created_at=datetime.fromisoformat(str(props["created_at"])),
            tables={t.name: t for t in tables_from_json(str(props.get("tables") or "[]"))},
            ddl=list(json.loads(str(props.get("ddl") or "[]"))),
        )


def now() -> datetime:
    return datetime.now(UTC)


def tables_json(tables: Any) -> str:
    return json.dumps([asdict(t) for t in tables], sort_keys=True)


def tables_from_json(text: str) -> list[TableInfo]:
    out = []
    for raw in json.loads(text):
        props = [PropertyInfo(**p) for p in raw.pop("properties", [])]
        out.append(TableInfo(properties=props, **raw))
    return out


READ_META = f"MATCH (m:{META_LABEL}) RETURN properties(m) AS props LIMIT 1"
WRITE_META = f"MERGE (m:{META_LABEL} {{singleton: true}}) SET m += $props"
DELETE_META = f"MATCH (m:{META_LABEL}) DELETE m"
