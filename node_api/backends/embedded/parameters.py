"""Request parameters (decoded by core/parameters.py) -> values the embedded engines' Python API takes.

Runs in the HTTP process, before parameters are pickled to the database's worker (protocol.py): the
Neo4j driver's value types (Duration with months, nanosecond DateTime, Point) the decoder may produce
never reach a worker, which then does not import the driver.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Mapping
from typing import Any

from neo4j.spatial import Point
from neo4j.time import Date as Neo4jDate
from neo4j.time import DateTime as Neo4jDateTime
from neo4j.time import Duration
from neo4j.time import Time as Neo4jTime

from node_api.backends.errors import InvalidParameter
from node_api.models.values import MapEntries, Node, Path, Relationship, decimal_text

_TAKES_BYTES = {"kuzu": False, "ladybug": True}
_INT64 = (-(2**63), 2**63 - 1)
_DECIMAL_DIGITS = 38  # the engines' widest DECIMAL


def embedded_parameters(parameters: Mapping[str, Any], engine: str = "kuzu") -> dict[str, Any]:
    """Decoded parameters -> values Kuzu / LadybugDB take. Raises InvalidParameter (400) for a value the
    engine has no parameter form for, or would corrupt.

    Where the engine's Python API has no form for a value but the engine reads its text (integers past
    38 digits, decimals with more scale than digits, intervals with months, bytes on Kuzu), the value is
    sent as that text: the engine casts it where the query compares it with a typed value, and
    `CAST($p AS <type>)` converts it explicitly. A datetime with nanoseconds is sent with its
    microseconds (the engine compares TIMESTAMP_NS with a TIMESTAMP to the microsecond).
    """
    return {name: _embedded(value, name, _TAKES_BYTES.get(engine, False)) for name, value in parameters.items()}


def _embedded(value: Any, path: str, takes_bytes: bool) -> Any:
    if value is None or isinstance(value, (bool, str, float)):
        return value
    if isinstance(value, int):
        if _INT64[0] <= value <= _INT64[1]:
            return value
        # No integer parameter type past INT64: a DECIMAL of its digits compares equal with UINT64 and INT128.
        return decimal.Decimal(value) if len(str(abs(value))) <= _DECIMAL_DIGITS else str(value)
    if isinstance(value, decimal.Decimal):
        return _embedded_decimal(value)
    if isinstance(value, (uuid.UUID, dt.date, dt.timedelta)) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.datetime):
        # The engine drops a datetime's offset and keeps its wall clock: send the instant, in UTC.
        return value if value.tzinfo is None else value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, Neo4jDateTime):
        # The Python API takes microseconds at most; the engine compares a TIMESTAMP with a
        # TIMESTAMP_NS to the microsecond (measured), so the comparison still holds.
        return _embedded(value.to_native(), path, takes_bytes)
    if isinstance(value, Neo4jDate):
        return value.to_native()
    if isinstance(value, Duration):  # Duration and Point are tuples: before the sequences
        return _embedded_duration(value, path)
    if isinstance(value, Point):
        raise InvalidParameter(f"parameter {path}: Kuzu and LadybugDB have no point type", parameter=path)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value) if takes_bytes else _blob_text(bytes(value))
    if isinstance(value, MapEntries):
        if not value.entries:
            raise InvalidParameter(f"parameter {path}: the engine cannot type an empty map", parameter=path)
        return {"key": [_embedded(k, f"{path}.key", takes_bytes) for k, _ in value.entries],
                "value": [_embedded(v, f"{path}.value", takes_bytes) for _, v in value.entries]}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return _embedded_struct(value, path, takes_bytes)
        return _embedded(MapEntries(tuple(value.items())), path, takes_bytes)
    if isinstance(value, (list, tuple)):
        return _embedded_list(list(value), path, takes_bytes)
    if isinstance(value, (dt.time, Neo4jTime)):
        raise InvalidParameter(f"parameter {path}: Kuzu and LadybugDB have no time-of-day type", parameter=path)
    if isinstance(value, (Node, Relationship, Path)):
        raise InvalidParameter(f"parameter {path}: a node, relationship or path cannot be a parameter",
                               parameter=path)
    raise InvalidParameter(f"parameter {path}: no engine form for {type(value).__name__}", parameter=path)


def _embedded_decimal(value: decimal.Decimal) -> Any:
    if value.as_tuple().exponent > 0:  # type: ignore[operator]
        value = value.quantize(decimal.Decimal(1))  # 1E+5 -> 100000: the engine reads no positive exponent
    sign, digits, exponent = value.as_tuple()
    scale = -int(exponent)
    # The engine types a Decimal as DECIMAL(len(digits), scale): 0.05 would be DECIMAL(1, 2), a type it
    # then refuses to compare. Such values, and those past 38 digits, go as text.
    if len(digits) > _DECIMAL_DIGITS or scale > len(digits):
        return decimal_text(value)
    return value


def _embedded_duration(value: Duration, path: str) -> Any:
    months, days, seconds, nanos = value
    if nanos % 1000:
        raise InvalidParameter(f"parameter {path}: Kuzu and LadybugDB intervals hold microseconds, not nanoseconds",
                               parameter=path)
    if months == 0:
        return dt.timedelta(days=days, seconds=seconds, microseconds=nanos // 1000)
    if min(months, days, seconds, nanos) < 0:
        raise InvalidParameter(f"parameter {path}: the engine takes an interval with months only when no part "
                               "is negative", parameter=path)
    # The Python API takes no months (a timedelta has none): the interval's text keeps them.
    return f"{months} months {days} days {seconds * 1_000_000 + nanos // 1000} microseconds"


def _blob_text(value: bytes) -> str:
    # Kuzu 0.11.3's Python API takes no bytes; its BLOB text escapes every byte outside printable ASCII.
    return "".join(chr(b) if 32 <= b < 127 and b != 0x5C else f"\\x{b:02X}" for b in value)


def _embedded_struct(value: dict[str, Any], path: str, takes_bytes: bool) -> dict[str, Any]:
    out = {}
    for key, item in value.items():
        if item is None:
            # Measured: a null struct field outside a list fails an engine assertion (KU_UNREACHABLE).
            raise InvalidParameter(f"parameter {path}.{key}: the engine cannot type a null map field; "
                                   "leave the key out", parameter=f"{path}.{key}")
        out[key] = _embedded(item, f"{path}.{key}", takes_bytes)
    return out


def _embedded_list(items: list[Any], path: str, takes_bytes: bool) -> list[Any]:
    if all(item is None for item in items):
        raise InvalidParameter(f"parameter {path}: the engine cannot type an empty list or a list of nulls",
                               parameter=path)
    maps = [item for item in items if isinstance(item, dict)]
    if maps and len(maps) != sum(item is not None for item in items):
        raise InvalidParameter(f"parameter {path}: a list holds values of one type; this one mixes maps with "
                               "other values", parameter=path)
    if maps and all(all(isinstance(k, str) for k in m) for m in maps):
        # Measured: the engine takes the field order of the list's last map and assigns the others'
        # values by position, mislabelling them. Give every map the first one's order, and refuse maps
        # with different keys rather than let them be mixed up.
        keys = list(maps[0])
        if any(set(m) != set(keys) for m in maps):
            raise InvalidParameter(f"parameter {path}: the maps of one list need the same keys", parameter=path)
        nulls = [k for k in keys if all(m[k] is None for m in maps)]
        if nulls:
            raise InvalidParameter(f"parameter {path}: the engine cannot type map field {nulls[0]!r}, null in "
                                   "every map", parameter=path)
        items = [None if item is None else {k: item[k] for k in keys} for item in items]
        return [None if item is None else {k: (None if x is None else _embedded(x, f"{path}[{i}].{k}", takes_bytes))
                                           for k, x in item.items()} for i, item in enumerate(items)]
    return [_embedded(item, f"{path}[{i}]", takes_bytes) for i, item in enumerate(items)]
