"""JSON encoding for API responses (orjson, with the few types it does not know).

orjson encodes datetime/date/time as RFC 3339 and UUID as a string natively. JSON has no NaN or
Infinity: orjson writes null for them.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
from typing import Any

import orjson


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


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, default=_default, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)


def dumps_line(obj: Any) -> bytes:
    return orjson.dumps(
        obj, default=_default, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE
    )
