"""JSON encoding for API responses (orjson, with the few types it does not know).

Query rows arrive here already in their wire form (node_api/backends/values.py, backends/neo4j/values.py), so
for them only one rule is left: an integer beyond ±(2**53 - 1) is written as
`{"$type": "Integer", "_value": "<digits>"}` (node_api/models/values.py), never as a number a
JavaScript client would round. orjson checks the range itself (OPT_STRICT_INTEGER), so payloads
without such integers take no extra pass. orjson encodes datetime/date/time as RFC 3339 and UUID as a
string natively; JSON has no NaN or Infinity: orjson writes null for them (query rows type them).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
from typing import Any

import orjson

from node_api.models.values import MAX_SAFE_INTEGER, tagged

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def iso_duration(delta: dt.timedelta) -> str:
    total_us = delta.days * 86_400_000_000 + delta.seconds * 1_000_000 + delta.microseconds
    sign = "-" if total_us < 0 else ""
    total_us = abs(total_us)
    days, rem_us = divmod(total_us, 86_400_000_000)
    seconds, micros = divmod(rem_us, 1_000_000)
    secs = f"{seconds}.{micros:06d}".rstrip("0").rstrip(".") if micros else str(seconds)
    return f"{sign}P{days}DT{secs}S"


def _default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.timedelta):
        return iso_duration(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def _exact_integers(value: Any) -> Any:
    """`value` with every integer beyond ±(2**53 - 1) in its typed form (the rare path)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else tagged("Integer", str(value))
    if isinstance(value, dict):
        return {(str(k) if isinstance(k, int) and not isinstance(k, bool) else k): _exact_integers(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_exact_integers(v) for v in value]
    return value


def _dumps(obj: Any, options: int) -> bytes:
    try:
        return orjson.dumps(obj, default=_default, option=options | orjson.OPT_STRICT_INTEGER)
    except orjson.JSONEncodeError:
        # Raised for an integer past 53 bits (or for a value nothing can encode, raised again below).
        return orjson.dumps(_exact_integers(obj), default=_default, option=options)


def dumps(obj: Any) -> bytes:
    return _dumps(obj, _OPTIONS)


def dumps_line(obj: Any) -> bytes:
    return _dumps(obj, _OPTIONS | orjson.OPT_APPEND_NEWLINE)
