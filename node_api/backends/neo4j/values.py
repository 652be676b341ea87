"""Bolt values -> the wire form of node_api/models/values.py (docs/result-values.md), and back.

Results: the driver's values are encoded by their driver type (every type its Bolt hydration hands
over: Node, Relationship, Path, the neo4j.time types with nanoseconds, spatial points, bytes, vectors).
Parameters: `to_bolt` turns decoded parameters (core/parameters.py) into values the driver sends.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import uuid
import zoneinfo
from typing import Any

import pytz
from neo4j.graph import Node, Path, Relationship
from neo4j.spatial import Point
from neo4j.time import Date, DateTime, Duration, Time
from neo4j.types import UnsupportedType
from neo4j.vector import Vector

from node_api.backends.errors import InvalidParameter
from node_api.models import values as wire

_INT64 = (-(2**63), 2**63 - 1)


def node_labels(labels: frozenset[str] | set[str]) -> list[str]:
    return sorted(labels)


def neo4j_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value  # beyond ±(2**53 - 1): typed by core/jsonenc.dumps
    if isinstance(value, float):
        return wire.floating(value)
    if isinstance(value, list):
        return [neo4j_value(v) for v in value]
    if isinstance(value, dict):
        return wire.string_map({k: neo4j_value(v) for k, v in value.items()})
    if isinstance(value, Node):
        return wire.node_value(value.element_id, node_labels(value.labels), _props(value))
    if isinstance(value, Relationship):
        # `is not None`: a Node is a mapping of its properties, so one returned without them is falsy.
        start, end = value.start_node, value.end_node
        return wire.relationship_value(value.element_id, start.element_id if start is not None else "",
                                       end.element_id if end is not None else "", value.type, _props(value))
    if isinstance(value, Path):
        return wire.path_value([neo4j_value(n) for n in value.nodes],
                               [neo4j_value(r) for r in value.relationships])
    if isinstance(value, DateTime):
        return wire.datetime_value(value.year, value.month, value.day, value.hour, value.minute,
                                   int(value.second), value.nanosecond, value.tzinfo, value)
    if isinstance(value, Date):
        return wire.tagged("Date", value.iso_format())
    if isinstance(value, Time):
        return wire.time_value(value.hour, value.minute, int(value.second), value.nanosecond, value.utcoffset())
    if isinstance(value, Duration):
        return wire.tagged("Duration", value.iso_format())
    if isinstance(value, Point):
        # Only a Point built by hand lacks an SRID: the driver hydrates every Bolt point with its own.
        assert value.srid is not None
        return wire.point_value(value.srid, value)
    if isinstance(value, Vector):
        return [neo4j_value(v) for v in value.to_native()]  # Neo4j 2025.10+ vectors: a list of numbers
    if isinstance(value, UnsupportedType):
        # A type newer than the driver's Bolt version: the server sends only its name.
        return wire.tagged("Unsupported", value.name)
    # bytes / bytearray (Cypher ByteArray), and anything newer the driver hands over by Python type.
    return wire.encode_value(value)


def neo4j_row(values: list[Any] | tuple[Any, ...]) -> list[Any]:
    return [neo4j_value(v) for v in values]


def _props(entity: Node | Relationship) -> dict[str, Any]:
    return {k: neo4j_value(v) for k, v in entity.items()}


# ---- parameters going to the server

def to_bolt(value: Any, path: str = "parameters") -> Any:
    """Python values (decoded parameters, Arrow rows) -> values the driver can send.

    Neo4j has no decimal or UUID type: both go as text. Raises InvalidParameter for an integer past
    64 bits, a map with non-text keys, and graph values (Cypher takes no node as a parameter).
    """
    if value is None or isinstance(value, (bool, str, float)):
        return value
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise InvalidParameter(f"parameter {path}: Neo4j integers are 64-bit", parameter=path)
        return value
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (Duration, Point)):  # tuples, so before the sequences
        return value
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise InvalidParameter(f"parameter {path}: Neo4j map keys are text", parameter=path)
        return {k: to_bolt(v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, wire.MapEntries):
        return to_bolt(_entries_dict(value, path), path)
    if isinstance(value, (list, tuple)):
        return [to_bolt(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, dt.datetime) and isinstance(value.tzinfo, zoneinfo.ZoneInfo):
        # The driver (6.x) shifts a zoneinfo datetime by its offset when it sends it (measured on
        # ArcadeDB: 03:04 Berlin arrives as 02:04 Berlin); a pytz zone of the same name goes right.
        return pytz.timezone(value.tzinfo.key).localize(value.replace(tzinfo=None), is_dst=not value.fold)
    if isinstance(value, dt.time) and value.tzinfo is not None:
        # The driver asks the zone of a time for its offset with the time itself, which a
        # datetime.timezone refuses: send the fixed offset the driver's own times carry.
        offset = value.utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset is not None else 0
        return Time(value.hour, value.minute, value.second, value.microsecond * 1000,
                    tzinfo=pytz.FixedOffset(minutes))
    if isinstance(value, (wire.Node, wire.Relationship, wire.Path)):
        raise InvalidParameter(f"parameter {path}: a node, relationship or path cannot be a parameter",
                               parameter=path)
    return value  # bytes, temporal and spatial values: the driver's own types


def bolt_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    return {name: to_bolt(value, name) for name, value in parameters.items()}


def _entries_dict(value: wire.MapEntries, path: str) -> dict[str, Any]:
    if not all(isinstance(k, str) for k, _ in value.entries):
        raise InvalidParameter(f"parameter {path}: Neo4j map keys are text", parameter=path)
    return dict(value.entries)


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
