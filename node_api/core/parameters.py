"""Query parameters: request JSON -> Python values, in the HTTP process, before any engine work.

A parameter is plain JSON or typed JSON (node_api/models/values.py, docs/result-values.md): exactly
the form results come back in, so a value a query returned can be sent back unchanged. Neo4j Query API
v2's typed parameters (`{"$type": "Integer", "_value": "5"}`, `"String"`, `"List"`, ...) are read too.
What comes out is plain Python (int of any width, float, str, Decimal, UUID, bytes, date / datetime /
time, neo4j.time values where Python's have no room, points, lists, dicts, MapEntries): picklable, and
turned into each engine's own forms by the backend (`embedded_parameters`, `bolt_parameters`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from node_api.errors import ApiError
from node_api.models.values import Node, Path, Relationship, ValueDecodeError, decode_value


def decode_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Raises ApiError 400 `invalid_parameter` (details: `parameter`, the path of the bad value) for a
    typed value that cannot be read, an unknown `$type`, or a node, relationship or path (Cypher takes
    none of them as a parameter: send an id or the properties)."""
    out: dict[str, Any] = {}
    for name, raw in parameters.items():
        try:
            value = decode_value(raw, name)
        except ValueDecodeError as exc:
            raise ApiError(400, "invalid_parameter", f"parameter {exc.path}: {exc.reason}",
                           parameter=exc.path) from None
        _refuse_graph_values(value, name)
        out[name] = value
    return out


def _refuse_graph_values(value: Any, path: str) -> None:
    if isinstance(value, (Node, Relationship, Path)):
        raise ApiError(400, "invalid_parameter",
                       f"parameter {path}: a node, relationship or path cannot be a parameter; send its id "
                       "or its properties", parameter=path)
    if isinstance(value, list):
        for i, item in enumerate(value):
            _refuse_graph_values(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_graph_values(item, f"{path}.{key}")
