"""Engine values -> JSON shapes, one mapping for every backend (documented in docs/result-values.md).

Structured values are reshaped here; scalars that orjson already encodes well (int, float, str,
bool, None, datetime, date, time, UUID) pass through untouched so the hot path stays cheap, and the
rest (Decimal, timedelta, bytes) are encoded by core/jsonenc.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def node_json(element_id: str, label: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "node", "id": element_id, "label": label, "properties": properties}


def relationship_json(
    element_id: str, label: str, start: str, end: str, properties: dict[str, Any]
) -> dict[str, Any]:
    return {"type": "relationship", "id": element_id, "label": label, "start": start, "end": end,
            "properties": properties}


def path_json(nodes: list[dict[str, Any]], relationships: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "path", "nodes": nodes, "relationships": relationships}


# ---- Kuzu: nodes, rels and recursive rels come back as dicts with reserved underscore keys.

def _kuzu_id(internal_id: Any) -> str:
    if isinstance(internal_id, dict):
        return f"{internal_id.get('table')}:{internal_id.get('offset')}"
    return str(internal_id)


def kuzu_value(value: Any) -> Any:
    if isinstance(value, dict):
        if "_src" in value and "_dst" in value and "_label" in value:
            props = {k: kuzu_value(v) for k, v in value.items() if not k.startswith("_")}
            return relationship_json(
                _kuzu_id(value.get("_id")), value["_label"], _kuzu_id(value["_src"]), _kuzu_id(value["_dst"]), props
            )
        if "_label" in value and "_id" in value:
            props = {k: kuzu_value(v) for k, v in value.items() if not k.startswith("_")}
            return node_json(_kuzu_id(value["_id"]), value["_label"], props)
        if "_nodes" in value and "_rels" in value:
            return path_json([kuzu_value(n) for n in value["_nodes"]], [kuzu_value(r) for r in value["_rels"]])
        return {str(k): kuzu_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [kuzu_value(v) for v in value]
    return value


def kuzu_row(row: list[Any]) -> list[Any]:
    return [kuzu_value(v) if isinstance(v, (dict, list)) else v for v in row]


_STRUCTURED_TYPE = ("NODE", "REL", "STRUCT", "MAP", "UNION", "ANY")


def row_encoder(column_types: list[str]) -> Callable[[list[Any]], list[Any]] | None:
    """A function turning one engine row into JSON-ready values, from the result's column types;
    None when no column needs converting (scalars pass through untouched)."""
    if not any(marker in t for t in column_types for marker in _STRUCTURED_TYPE):
        return None
    return kuzu_row
