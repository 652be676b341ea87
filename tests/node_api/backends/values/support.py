"""The transports a value travels (raw JSON / NDJSON / SSE, both clients' JSON and streams) and a strict
comparison: same types all the way down (1 is not 1.0 nor True), NaN equal to NaN."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from typing import Any

import httpx

from node_api.core.streaming import NDJSON, SSE

RAW_TRANSPORTS = ("json", "ndjson", "sse")
CLIENT_TRANSPORTS = ("sync", "sync_stream", "async", "async_stream")


def same(actual: Any, expected: Any, path: str = "value") -> list[str]:
    """Differences between two values, as readable lines (empty when they are the same)."""
    if isinstance(expected, float) and math.isnan(expected):
        return [] if isinstance(actual, float) and math.isnan(actual) else [f"{path}: {actual!r} is not NaN"]
    if type(actual) is not type(expected):
        return [f"{path}: {actual!r} ({type(actual).__name__}) != {expected!r} ({type(expected).__name__})"]
    if isinstance(expected, dict):
        if set(actual) != set(expected):  # JSON objects are unordered
            return [f"{path}: keys {sorted(actual)} != {sorted(expected)}"]
        return [d for k in expected for d in same(actual[k], expected[k], f"{path}.{k}")]
    if isinstance(expected, (list, tuple)) and not hasattr(expected, "srid"):
        if len(actual) != len(expected):
            return [f"{path}: {len(actual)} items != {len(expected)}: {actual!r}"]
        return [d for i, (a, e) in enumerate(zip(actual, expected, strict=True)) for d in same(a, e, f"{path}[{i}]")]
    if dataclasses.is_dataclass(expected):
        return [d for f in dataclasses.fields(expected)
                for d in same(getattr(actual, f.name), getattr(expected, f.name), f"{path}.{f.name}")]
    if isinstance(expected, (dt.datetime, dt.time)) and expected.tzinfo is not None:
        if actual.utcoffset() != expected.utcoffset() or str(actual.tzinfo) != str(expected.tzinfo):
            return [f"{path}: zone {actual.tzinfo!r} != {expected.tzinfo!r}"]
    if hasattr(expected, "srid") and (actual.srid, tuple(actual)) != (expected.srid, tuple(expected)):
        return [f"{path}: {actual!r} != {expected!r}"]
    return [] if actual == expected else [f"{path}: {actual!r} != {expected!r}"]


async def raw_rows(client: httpx.AsyncClient, graph_id: str, cypher: str, parameters: dict[str, Any] | None,
                   transport: str) -> tuple[int, Any]:
    """(status, rows as parsed by a plain JSON parser) for one transport; on an error, (status, error body)."""
    accept = {"json": "application/json", "ndjson": NDJSON, "sse": SSE}[transport]
    response = await client.post(f"/databases/{graph_id}/query", headers={"Accept": accept},
                                 json={"cypher": cypher, "parameters": parameters or {}})
    if response.status_code != 200:
        return response.status_code, response.json()
    if transport == "json":
        return 200, response.json()["rows"]
    if transport == "ndjson":
        events = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    else:
        events = []
        for block in response.text.replace("\r\n", "\n").split("\n\n"):
            fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
            if "event" in fields:
                events.append({"type": fields["event"], **json.loads(fields["data"])})
    assert events[-1]["type"] == "summary", events
    return 200, [row for e in events if e["type"] == "rows" for row in e["rows"]]


def report(problems: list[str]) -> None:
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
