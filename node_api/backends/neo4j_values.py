"""Bolt values -> the JSON shapes of backends/values.py (docs/result-values.md), and back for backups.

The Kuzu backend hands Python datetimes to orjson; the driver returns neo4j.time types (nanosecond
precision), so they are written here as the same ISO-8601 text orjson would produce, falling back to
nanosecond text only when the value has sub-microsecond digits.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
from typing import Any

from neo4j.graph import Node, Path, Relationship
from neo4j.spatial import Point
from neo4j.time import Date, DateTime, Duration, Time

from node_api.backends.values import node_json, path_json, relationship_json
from node_api.core.jsonenc import iso_duration


def node_label(labels: frozenset[str] | set[str]) -> str:
    # One label is the norm (it matches a Kuzu node table); several are joined in sorted order.
    return ":".join(sorted(labels))


def neo4j_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Node):
        return node_json(value.element_id, node_label(value.labels), _props(value))
    if isinstance(value, Relationship):
        start, end = value.start_node, value.end_node
        return relationship_json(
            value.element_id, value.type, start.element_id if start else "", end.element_id if end else "",
            _props(value),
        )
    if isinstance(value, Path):
        return path_json([neo4j_value(n) for n in value.nodes], [neo4j_value(r) for r in value.relationships])
    if isinstance(value, list):
        return [neo4j_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): neo4j_value(v) for k, v in value.items()}
    if isinstance(value, (DateTime, Time)):
        if value.nanosecond % 1000 == 0:
            return value.to_native().isoformat()
        return value.iso_format()
    if isinstance(value, Date):
        return value.iso_format()
    if isinstance(value, Duration):
        if value.months == 0 and value.nanoseconds % 1000 == 0:
            return iso_duration(dt.timedelta(days=value.days, seconds=value.seconds,
                                             microseconds=value.nanoseconds // 1000))
        return value.iso_format()
    if isinstance(value, Point):
        return _point(value)
    return value  # bytes: base64 by core/jsonenc.py


def neo4j_row(values: list[Any] | tuple[Any, ...]) -> list[Any]:
    return [neo4j_value(v) for v in values]


def _props(entity: Node | Relationship) -> dict[str, Any]:
    return {k: neo4j_value(v) for k, v in entity.items()}


def _point(value: Point) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "point", "srid": value.srid, "x": value[0], "y": value[1]}
    if len(value) > 2:
        out["z"] = value[2]
    return out


# ---- parameters going to the server

def to_bolt(value: Any) -> Any:
    """Python values from Arrow / JSON -> values the driver can send. Neo4j has no decimal type."""
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_bolt(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_bolt(v) for v in value]
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return value


# ---- typed JSON for backups: property values must come back with their Cypher types

def encode_property(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [encode_property(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, DateTime):
        return {"$datetime" if value.tzinfo is not None else "$localdatetime": value.iso_format()}
    if isinstance(value, Date):
        return {"$date": value.iso_format()}
    if isinstance(value, Time):
        return {"$time" if value.tzinfo is not None else "$localtime": value.iso_format()}
    if isinstance(value, Duration):
        return {"$duration": [value.months, value.days, value.seconds, value.nanoseconds]}
    if isinstance(value, Point):
        return {"$point": [value.srid, *list(value)]}
    raise TypeError(f"cannot back up a property of type {type(value).__name__}")


def decode_property(value: Any) -> Any:
    if isinstance(value, list):
        return [decode_property(v) for v in value]
    if not isinstance(value, dict) or len(value) != 1:
        return value
    (tag, raw), = value.items()
    if tag == "$bytes":
        return base64.b64decode(raw)
    if tag in ("$datetime", "$localdatetime"):
        return _parse_datetime(raw)
    if tag == "$date":
        return Date.from_iso_format(raw)
    if tag in ("$time", "$localtime"):
        return Time.from_iso_format(raw)
    if tag == "$duration":
        months, days, seconds, nanos = raw
        return Duration(months=months, days=days, seconds=seconds, nanoseconds=nanos)
    if tag == "$point":
        from neo4j.spatial import CartesianPoint, WGS84Point

        srid, *coords = raw
        return (WGS84Point if srid in (4326, 4979) else CartesianPoint)(coords)
    return value


def _parse_datetime(text: str) -> DateTime:
    # DateTime.from_iso_format does not take an offset; split it off and re-attach it.
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    main, sign, offset = text, "", ""
    for s in ("+", "-"):
        idx = text.rfind(s)
        if idx > 10:
            main, sign, offset = text[:idx], s, text[idx + 1 :]
            break
    value = DateTime.from_iso_format(main)
    if not sign:
        return value
    hours, minutes = (int(p) for p in offset.split(":")[:2])
    delta = dt.timedelta(hours=hours, minutes=minutes) * (1 if sign == "+" else -1)
    return value.replace(tzinfo=dt.timezone(delta))


# ArcadeDB stores a zoned DateTime received as a Bolt parameter as a UTC local datetime (the offset
# is lost, measured), while datetime('...+02:00') built in Cypher keeps it. Writers that must keep
# offsets (restore, bulk load) send zoned datetimes as ISO text and convert them in the statement.

def split_zoned(props: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    plain: dict[str, Any] = {}
    zoned: dict[str, str] = {}
    for key, value in props.items():
        if isinstance(value, (DateTime, dt.datetime)) and value.tzinfo is not None:
            zoned[key] = value.iso_format() if isinstance(value, DateTime) else value.isoformat()
        else:
            plain[key] = value
    return plain, zoned


def zoned_set(variable: str, source: str, keys: tuple[str, ...]) -> str:
    """`, n.`k` = datetime(row.z.`k`)` for each zoned key (appended to a SET clause)."""
    return "".join(f", {variable}.`{k}` = datetime({source}.`{k}`)" for k in keys)
