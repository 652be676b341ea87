"""Query values on the wire, both ways: plain JSON where JSON is exact, typed JSON elsewhere.

The typed form is Neo4j Query API v2's `{"$type": <name>, "_value": <text or JSON>}`
(https://neo4j.com/docs/query-api/current/typed-json/), so a client that knows that contract knows
ours; we add `Decimal`, `UUID` and `MapEntries` for the types Neo4j lacks. docs/result-values.md is the
table of every engine type. The node writes results and reads parameters with this module; the
Python clients read results and write parameters with it, so a value a query returns can be sent
back as a parameter unchanged (JSON) or as the Python value the client gave (clients).

Plain JSON is used for null, booleans, strings, finite floats, integers within ±(2**53 - 1) (the range
a JavaScript number holds exactly), lists, and string-keyed maps; everything else is typed. A map that
has a `$type` key of its own is wrapped as `{"$type": "Map", "_value": {...}}`, so an object with a
`$type` key is always a typed value.

Python forms (`decode_value`): int, float, str, bool, None, list, dict, `decimal.Decimal`,
`uuid.UUID`, bytes, `datetime.date`, `datetime.datetime` / `datetime.time` (aware or naive), or
`neo4j.time.DateTime` / `neo4j.time.Time` when the value has digits below the microsecond,
`neo4j.time.Duration` (months, days, seconds, nanoseconds: the parts Cypher compares), `neo4j.spatial`
points, and this module's `Node`, `Relationship`, `Path` and `MapEntries`. `encode_value` takes those
and `datetime.timedelta`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import math
import re
import uuid
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from neo4j.spatial import Point
    from neo4j.time import DateTime as Neo4jDateTime
    from neo4j.time import Duration
    from neo4j.time import Time as Neo4jTime


@cache
def neo4j_types() -> SimpleNamespace:
    """The Neo4j driver's value types (Duration with months, nanosecond DateTime/Time, Point), imported
    on first use. Engine workers encode embedded rows with this module and rarely meet them: importing
    the driver loads it and pyarrow (~90 MB and ~0.4 s a worker, measured)."""
    from neo4j.spatial import CartesianPoint, Point, WGS84Point
    from neo4j.time import Date, DateTime, Duration, Time

    return SimpleNamespace(CartesianPoint=CartesianPoint, Point=Point, WGS84Point=WGS84Point, Date=Date,
                           DateTime=DateTime, Duration=Duration, Time=Time)


def __getattr__(name: str) -> Any:  # `from node_api.models.values import Duration, Point`
    if name in ("Duration", "Point"):
        return getattr(neo4j_types(), name)
    raise AttributeError(name)


def _from_neo4j(value: Any) -> bool:
    return type(value).__module__.startswith("neo4j")

TYPE = "$type"
VALUE = "_value"
# Integers beyond this are typed: a JSON number past 2**53 - 1 is rounded by JavaScript (IEEE double).
MAX_SAFE_INTEGER = 2**53 - 1

__all__ = [
    "MAX_SAFE_INTEGER", "TYPE", "VALUE", "Duration", "MapEntries", "Node", "Path", "Point", "Relationship",
    "ValueDecodeError", "decode_value", "encode_value",
]


class ValueDecodeError(ValueError):
    """A typed value that cannot be read; `path` names where it sits (`p`, `p[2]`, `p.k`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.reason = message


# ---- graph values and maps with non-string keys -------------------------------------------------

@dataclass(frozen=True)
class Node:
    element_id: str
    labels: tuple[str, ...]
    properties: dict[str, Any]


@dataclass(frozen=True)
class Relationship:
    element_id: str
    start_node_element_id: str
    end_node_element_id: str
    type: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class Path:
    """Nodes in walk order; relationships[i] joins nodes[i] and nodes[i + 1] (in either direction)."""

    nodes: tuple[Node, ...]
    relationships: tuple[Relationship, ...]


@dataclass(frozen=True)
class MapEntries:
    """A Kuzu/LadybugDB MAP: its (key, value) entries in order. Keys may be lists or maps, which a
    Python dict cannot hold; `dict(m.entries)` works when they are hashable."""

    entries: tuple[tuple[Any, Any], ...]

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


# ---- text forms (shared by every encoder) -------------------------------------------------------

def tagged(type_name: str, value: Any) -> dict[str, Any]:
    return {TYPE: type_name, VALUE: value}


def integer(value: int) -> Any:
    return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else tagged("Integer", str(value))


def floating(value: float) -> Any:
    if math.isfinite(value):
        return value
    return tagged("Float", "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity"))


def decimal_text(value: decimal.Decimal) -> str:
    return format(value, "f")  # never scientific: "0.000000100", not "1.00E-7"


def fraction(nanoseconds: int) -> str:
    """Sub-second digits: none, six (microseconds, as Python's isoformat) or nine when needed."""
    if nanoseconds == 0:
        return ""
    if nanoseconds % 1000 == 0:
        return f".{nanoseconds // 1000:06d}"
    return f".{nanoseconds:09d}"


def offset_text(offset: dt.timedelta) -> str:
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    minutes, secs = divmod(abs(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def _zone_name(tz: dt.tzinfo) -> str | None:
    # zoneinfo names its zone `key`, pytz (the Neo4j driver's zones) `zone`; fixed offsets have neither.
    # UTC is written as an offset: the driver hands a "+00:00" offset and the zone "UTC" over as the
    # same object (pytz.utc), so they cannot be told apart.
    name = getattr(tz, "key", None) or getattr(tz, "zone", None)
    return name if isinstance(name, str) and name != "UTC" else None


def datetime_value(year: int, month: int, day: int, hour: int, minute: int, second: int, nanosecond: int,
                   tz: dt.tzinfo | None, at: Any) -> dict[str, Any]:
    """LocalDateTime, OffsetDateTime or ZonedDateTime (named zone) text; `at` gives the zone offset."""
    text = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{fraction(nanosecond)}"
    if tz is None:
        return tagged("LocalDateTime", text)
    offset = at.utcoffset()
    name = _zone_name(tz)
    if name is not None:
        return tagged("ZonedDateTime", f"{text}{offset_text(offset)}[{name}]")
    return tagged("OffsetDateTime", text + offset_text(offset))


def time_value(hour: int, minute: int, second: int, nanosecond: int, offset: dt.timedelta | None) -> dict[str, Any]:
    text = f"{hour:02d}:{minute:02d}:{second:02d}{fraction(nanosecond)}"
    return tagged("LocalTime", text) if offset is None else tagged("Time", text + offset_text(offset))


def duration_value(months: int, days: int, seconds: int, nanoseconds: int) -> dict[str, Any]:
    return tagged("Duration", neo4j_types().Duration(months=months, days=days, seconds=seconds,
                                                     nanoseconds=nanoseconds).iso_format())


def point_value(srid: int, coordinates: Iterable[float]) -> dict[str, Any]:
    coords = [_coordinate(c) for c in coordinates]
    kind = "POINT" if len(coords) == 2 else "POINT Z"
    return tagged("Point", f"SRID={srid};{kind} ({' '.join(coords)})")


def _coordinate(value: float) -> str:
    return repr(float(value)).replace("nan", "NaN").replace("inf", "Infinity")


def node_value(element_id: str, labels: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return tagged("Node", {"_element_id": element_id, "_labels": labels, "_properties": properties})


def relationship_value(element_id: str, start: str, end: str, rel_type: str,
                       properties: dict[str, Any]) -> dict[str, Any]:
    return tagged("Relationship", {"_element_id": element_id, "_start_node_element_id": start,
                                   "_end_node_element_id": end, "_type": rel_type, "_properties": properties})


def path_value(nodes: list[Any], relationships: list[Any]) -> dict[str, Any]:
    """Neo4j's Path form: node, relationship, node, ... alternating."""
    walk: list[Any] = []
    for i, node in enumerate(nodes):
        if i:
            walk.append(relationships[i - 1])
        walk.append(node)
    return tagged("Path", walk)


def string_map(value: dict[str, Any]) -> dict[str, Any]:
    """A string-keyed map as a JSON object, wrapped when one of its own keys is `$type`."""
    return tagged("Map", value) if TYPE in value else value


# ---- Python value -> wire -----------------------------------------------------------------------

def encode_value(value: Any) -> Any:
    """Any of the module's Python forms (and `datetime.timedelta`) -> JSON-ready wire value.

    Raises TypeError for a type with no wire form.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return integer(value)
    if isinstance(value, float):
        return floating(value)
    if _from_neo4j(value):
        return _encode_neo4j(value)
    if isinstance(value, (list, tuple)):
        return [encode_value(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return string_map({k: encode_value(v) for k, v in value.items()})
        return tagged("MapEntries", [[encode_value(k), encode_value(v)] for k, v in value.items()])
    if isinstance(value, decimal.Decimal):
        return tagged("Decimal", decimal_text(value))
    if isinstance(value, dt.datetime):
        return datetime_value(value.year, value.month, value.day, value.hour, value.minute, value.second,
                              value.microsecond * 1000, value.tzinfo, value)
    if isinstance(value, dt.date):
        return tagged("Date", value.isoformat())
    if isinstance(value, dt.time):
        offset = value.utcoffset()
        return time_value(value.hour, value.minute, value.second, value.microsecond * 1000, offset)
    if isinstance(value, dt.timedelta):
        return duration_value(0, value.days, value.seconds, value.microseconds * 1000)
    if isinstance(value, uuid.UUID):
        return tagged("UUID", str(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return tagged("Base64", base64.b64encode(bytes(value)).decode("ascii"))
    if isinstance(value, MapEntries):
        return tagged("MapEntries", [[encode_value(k), encode_value(v)] for k, v in value.entries])
    if isinstance(value, Node):
        return node_value(value.element_id, list(value.labels), _encode_props(value.properties))
    if isinstance(value, Relationship):
        return relationship_value(value.element_id, value.start_node_element_id, value.end_node_element_id,
                                  value.type, _encode_props(value.properties))
    if isinstance(value, Path):
        return path_value([encode_value(n) for n in value.nodes], [encode_value(r) for r in value.relationships])
    raise TypeError(f"no wire form for a value of type {type(value).__name__}")


def _encode_neo4j(value: Any) -> Any:
    n = neo4j_types()
    if isinstance(value, n.Duration):  # before tuple: Duration and Point are tuples
        return tagged("Duration", value.iso_format())
    if isinstance(value, n.Point):
        return point_value(value.srid, value)
    if isinstance(value, n.DateTime):
        return datetime_value(value.year, value.month, value.day, value.hour, value.minute, int(value.second),
                              value.nanosecond, value.tzinfo, value)
    if isinstance(value, n.Date):
        return tagged("Date", value.iso_format())
    if isinstance(value, n.Time):
        return time_value(value.hour, value.minute, int(value.second), value.nanosecond, value.utcoffset())
    raise TypeError(f"no wire form for a value of type {type(value).__name__}")


def _encode_props(properties: dict[str, Any]) -> dict[str, Any]:
    return {k: encode_value(v) for k, v in properties.items()}


# ---- wire -> Python value -----------------------------------------------------------------------

_FRACTION = r"(?:\.(\d{1,9}))?"
_OFFSET = r"(Z|[+-]\d{2}:\d{2}(?::\d{2})?)"
_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_LOCAL_TIME_RE = re.compile(r"(\d{2}):(\d{2})(?::(\d{2})" + _FRACTION + r")?")
_LOCAL_DATETIME_RE = re.compile(_DATE_RE.pattern + "T" + _LOCAL_TIME_RE.pattern)
_OFFSET_DATETIME_RE = re.compile(_LOCAL_DATETIME_RE.pattern + _OFFSET)
_ZONED_DATETIME_RE = re.compile(_LOCAL_DATETIME_RE.pattern + _OFFSET + r"?\[([A-Za-z0-9_+\-/]+)\]")
_TIME_RE = re.compile(_LOCAL_TIME_RE.pattern + _OFFSET)
_FLOAT = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|NaN|Infinity)"
_POINT_RE = re.compile(rf"SRID=(\d+);\s*POINT(?:\s+Z)?\s*\(\s*({_FLOAT})\s+({_FLOAT})(?:\s+({_FLOAT}))?\s*\)")
_SRID_POINTS = {7203: ("CartesianPoint", 2), 9157: ("CartesianPoint", 3), 4326: ("WGS84Point", 2),
                4979: ("WGS84Point", 3)}


MAX_DEPTH = 64  # parameters nested deeper are refused: decoding recurses once per level


def decode_value(value: Any, path: str = "value", *, strict: bool = True, depth: int = 0) -> Any:
    """Wire value -> Python value.

    strict (the node reading parameters): an unknown `$type` or a malformed typed value raises
    ValueDecodeError. Not strict (clients reading results): an unknown `$type` is kept as the raw
    object, so a newer node's types do not break an older client; malformed known types still raise.
    """
    if not isinstance(value, (list, dict)):
        return value
    if strict and depth > MAX_DEPTH:
        raise ValueDecodeError(path, f"values nest at most {MAX_DEPTH} levels deep")
    if isinstance(value, list):
        return [decode_value(v, f"{path}[{i}]", strict=strict, depth=depth + 1) for i, v in enumerate(value)]
    if TYPE not in value:
        return {k: decode_value(v, f"{path}.{k}", strict=strict, depth=depth + 1) for k, v in value.items()}
    type_name = value[TYPE]
    decoder = _DECODERS.get(type_name) if isinstance(type_name, str) else None
    if decoder is None:
        if strict:
            raise ValueDecodeError(path, f"unknown $type {type_name!r} (docs/result-values.md lists them)")
        return value
    if set(value) != {TYPE, VALUE}:
        raise ValueDecodeError(path, f"a typed value has exactly the keys $type and _value, not {sorted(value)}")
    try:
        return decoder(value[VALUE], path, (strict, depth + 1))
    except ValueDecodeError:
        raise
    except (ValueError, TypeError, KeyError, OverflowError, decimal.InvalidOperation, binascii.Error,
            zoneinfo.ZoneInfoNotFoundError) as exc:
        raise ValueDecodeError(path, f"not a valid {type_name}: {exc}") from None


def _text(raw: Any, type_name: str) -> str:
    if not isinstance(raw, str):
        raise ValueError(f"{type_name} takes a string _value")
    return raw


def _match(pattern: re.Pattern[str], raw: Any, type_name: str) -> re.Match[str]:
    match = pattern.fullmatch(_text(raw, type_name))
    if match is None:
        raise ValueError(f"{raw!r} is not ISO-8601 {type_name} text")
    return match


def _nanos(digits: str | None) -> int:
    return int((digits or "").ljust(9, "0")) if digits else 0


def _offset(text: str) -> dt.timezone:
    if text == "Z":
        return dt.UTC
    sign = -1 if text[0] == "-" else 1
    parts = [int(p) for p in text[1:].split(":")]
    return dt.timezone(sign * dt.timedelta(hours=parts[0], minutes=parts[1],
                                           seconds=parts[2] if len(parts) > 2 else 0))


def _datetime(groups: tuple[str | None, ...], tz: dt.tzinfo | None) -> dt.datetime | Neo4jDateTime:
    year, month, day, hour, minute = (int(g or 0) for g in groups[:5])
    second, nanos = int(groups[5] or 0), _nanos(groups[6])
    if nanos % 1000 == 0:
        return dt.datetime(year, month, day, hour, minute, second, nanos // 1000, tzinfo=tz)
    if tz is not None and not isinstance(tz, dt.timezone):
        raise ValueError("a datetime with a named zone has at most microsecond digits here")
    return neo4j_types().DateTime(year, month, day, hour, minute, second, nanos, tzinfo=tz)


def _time(groups: tuple[str | None, ...], tz: dt.tzinfo | None) -> dt.time | Neo4jTime:
    hour, minute, second = (int(g or 0) for g in groups[:3])
    nanos = _nanos(groups[3])
    if nanos % 1000 == 0:
        return dt.time(hour, minute, second, nanos // 1000, tzinfo=tz)
    return neo4j_types().Time(hour, minute, second, nanos, tzinfo=tz)


def _zoned(raw: Any, path: str, ctx: tuple[bool, int]) -> dt.datetime | Neo4jDateTime:
    match = _match(_ZONED_DATETIME_RE, raw, "ZonedDateTime")
    *parts, offset, name = match.groups()
    zone = zoneinfo.ZoneInfo(name)
    value = _datetime(tuple(parts), zone)
    if offset is not None and isinstance(value, dt.datetime):
        # The offset picks between the two readings of a wall time that repeats when clocks go back.
        for fold in (0, 1):
            candidate = value.replace(fold=fold)
            if candidate.utcoffset() == _offset(offset).utcoffset(None):
                return candidate
        raise ValueError(f"{offset} is not an offset of {name} at that time")
    return value


def _duration(raw: Any, path: str, ctx: tuple[bool, int]) -> Duration:
    text = _text(raw, "Duration")
    if not text.startswith("P"):
        raise ValueError(f"{text!r} is not ISO-8601 duration text")
    return neo4j_types().Duration.from_iso_format(text)


def _point(raw: Any, path: str, ctx: tuple[bool, int]) -> Point:
    match = _match(_POINT_RE, raw, "Point")
    srid = int(match.group(1))
    coords = [float(c) for c in match.groups()[1:] if c is not None]
    n = neo4j_types()
    name, dims = _SRID_POINTS.get(srid, ("Point", len(coords)))
    if dims != len(coords):
        raise ValueError(f"SRID {srid} takes {dims} coordinates")
    cls = getattr(n, name)
    point = cls(coords)
    if cls is n.Point:
        point.srid = srid  # an SRID the driver has no class for, as its own decoder does
    return point


def _integer(raw: Any, path: str, ctx: tuple[bool, int]) -> int:
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise ValueError("Integer takes its digits as a string")
    if isinstance(raw, str) and not re.fullmatch(r"[-+]?\d+", raw):
        raise ValueError(f"{raw!r} is not an integer")
    return int(raw)


def _float(raw: Any, path: str, ctx: tuple[bool, int]) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise ValueError("Float takes a number or its text")
    return float(raw)


def _decimal(raw: Any, path: str, ctx: tuple[bool, int]) -> decimal.Decimal:
    value = decimal.Decimal(_text(raw, "Decimal"))
    if not value.is_finite():
        raise ValueError("a Decimal is finite")
    return value


def _boolean(raw: Any, path: str, ctx: tuple[bool, int]) -> bool:
    if not isinstance(raw, bool):
        raise ValueError("Boolean takes true or false")
    return raw


def _null(raw: Any, path: str, ctx: tuple[bool, int]) -> None:
    if raw is not None:
        raise ValueError("Null takes null")


def _list(raw: Any, path: str, ctx: tuple[bool, int]) -> list[Any]:
    if not isinstance(raw, list):
        raise ValueError("List takes an array")
    return [decode_value(v, f"{path}[{i}]", strict=ctx[0], depth=ctx[1]) for i, v in enumerate(raw)]


def _map(raw: Any, path: str, ctx: tuple[bool, int]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ValueError("Map takes an object")
    return {k: decode_value(v, f"{path}.{k}", strict=ctx[0], depth=ctx[1]) for k, v in raw.items()}


def _entries(raw: Any, path: str, ctx: tuple[bool, int]) -> MapEntries:
    if not isinstance(raw, list) or not all(isinstance(e, list) and len(e) == 2 for e in raw):
        raise ValueError("MapEntries takes an array of [key, value] pairs")
    return MapEntries(tuple((decode_value(k, f"{path}[{i}][0]", strict=ctx[0], depth=ctx[1]),
                             decode_value(v, f"{path}[{i}][1]", strict=ctx[0], depth=ctx[1])) for i, (k, v) in enumerate(raw)))


def _object(raw: Any, keys: tuple[str, ...], type_name: str) -> dict[str, Any]:
    if not isinstance(raw, dict) or any(k not in raw for k in keys):
        raise ValueError(f"{type_name} takes an object with {', '.join(keys)}")
    return raw


def _node(raw: Any, path: str, ctx: tuple[bool, int]) -> Node:
    body = _object(raw, ("_element_id", "_labels", "_properties"), "Node")
    return Node(str(body["_element_id"]), tuple(body["_labels"]),
                _map(body["_properties"], f"{path}._properties", ctx))


def _relationship(raw: Any, path: str, ctx: tuple[bool, int]) -> Relationship:
    body = _object(raw, ("_element_id", "_start_node_element_id", "_end_node_element_id", "_type",
                         "_properties"), "Relationship")
    return Relationship(str(body["_element_id"]), str(body["_start_node_element_id"]),
                        str(body["_end_node_element_id"]), str(body["_type"]),
                        _map(body["_properties"], f"{path}._properties", ctx))


def _path(raw: Any, path: str, ctx: tuple[bool, int]) -> Path:
    if not isinstance(raw, list) or len(raw) % 2 != 1:
        raise ValueError("Path takes node, relationship, node, ... (an odd number of elements)")
    walk = [decode_value(v, f"{path}[{i}]", strict=ctx[0], depth=ctx[1]) for i, v in enumerate(raw)]
    nodes, rels = walk[0::2], walk[1::2]
    if not all(isinstance(n, Node) for n in nodes) or not all(isinstance(r, Relationship) for r in rels):
        raise ValueError("Path alternates Node and Relationship values")
    return Path(tuple(nodes), tuple(rels))


def _date(raw: Any, path: str, ctx: tuple[bool, int]) -> dt.date:
    return dt.date(*(int(g) for g in _match(_DATE_RE, raw, "Date").groups()))


def _local_time(raw: Any, path: str, ctx: tuple[bool, int]) -> dt.time | Neo4jTime:
    return _time(_match(_LOCAL_TIME_RE, raw, "LocalTime").groups(), None)


def _zoned_time(raw: Any, path: str, ctx: tuple[bool, int]) -> dt.time | Neo4jTime:
    groups = _match(_TIME_RE, raw, "Time").groups()
    return _time(groups[:4], _offset(groups[4]))


def _local_datetime(raw: Any, path: str, ctx: tuple[bool, int]) -> dt.datetime | Neo4jDateTime:
    return _datetime(_match(_LOCAL_DATETIME_RE, raw, "LocalDateTime").groups(), None)


def _offset_datetime(raw: Any, path: str, ctx: tuple[bool, int]) -> dt.datetime | Neo4jDateTime:
    groups = _match(_OFFSET_DATETIME_RE, raw, "OffsetDateTime").groups()
    return _datetime(groups[:7], _offset(groups[7]))


_DECODERS: dict[str, Any] = {
    "Null": _null,
    "Boolean": _boolean,
    "Integer": _integer,
    "Float": _float,
    "String": lambda raw, path, ctx: _text(raw, "String"),
    "Base64": lambda raw, path, ctx: base64.b64decode(_text(raw, "Base64"), validate=True),
    "List": _list,
    "Map": _map,
    "MapEntries": _entries,
    "Decimal": _decimal,
    "UUID": lambda raw, path, ctx: uuid.UUID(_text(raw, "UUID")),
    "Date": _date,
    "LocalTime": _local_time,
    "Time": _zoned_time,
    "LocalDateTime": _local_datetime,
    "OffsetDateTime": _offset_datetime,
    "ZonedDateTime": _zoned,
    "Duration": _duration,
    "Point": _point,
    "Node": _node,
    "Relationship": _relationship,
    "Path": _path,
}
