"""Red-team regression: a streamed result whose chunk passes 64 MB.

Found 2026-11-30 against main 226515e (Kuzu 0.11.3 and LadybugDB 0.22.0 alike): after encoding a
chunk larger than 64 MB a worker gives its freed heap back (core/memory.py), and finding libc went
through ctypes.util.find_library, which runs ldconfig or gcc and creates a temporary file. The
worker's sandbox has no /tmp, so `UNWIND range(1, 700) AS i RETURN repeat('x', 100000)` as NDJSON
answered 400 `query_failed` with Python's own text: "[Errno 2] No usable temporary directory found
in ['/tmp', ...]".
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from node_api.backends.messages import GENERIC, public_message
from tests.support.node import PERSON_DDL, create_db, make_settings, node_client


def test_attack_python_os_error_text_never_reaches_a_body() -> None:
    assert public_message("[Errno 2] No usable temporary directory found in ['/tmp', '/var/tmp']") == GENERIC


async def _ndjson_lines(tmp_path: Path, engine: str, cypher: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """Each line of `cypher`'s NDJSON answer on a fresh node of `engine`, with its decoded event."""
    async with node_client(make_settings(tmp_path / "dbs", backend_type=engine)) as client:
        await create_db(client, "attacker", ddl=PERSON_DDL)
        async with client.stream("POST", "/databases/attacker/query", headers={"Accept": "application/x-ndjson"},
                                 json={"cypher": cypher}) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                yield line, json.loads(line)


@pytest.mark.parametrize("engine", ["kuzu", "ladybug"])
async def test_attack_a_chunk_past_64_mb_streams_whole(tmp_path: Path, engine: str) -> None:
    rows = 0
    async for line, event in _ndjson_lines(tmp_path, engine, "UNWIND range(1, 700) AS i RETURN repeat('x', 100000) AS s"):
        assert event["type"] != "error", line[:300]
        if event["type"] == "rows":
            rows += len(event["rows"])
    assert rows == 700


@pytest.mark.parametrize("engine", ["kuzu", "ladybug"])
async def test_attack_wide_rows_reach_the_node_in_bounded_chunks(tmp_path: Path, engine: str) -> None:
    # Found the same day: chunks were 1,000 rows whatever their size; the node relays each whole and
    # prefetches the next, so one NDJSON stream of 60 kB rows grew the HTTP process by 270 MB.
    rows = 0
    async for line, event in _ndjson_lines(tmp_path, engine, "UNWIND range(1, 600) AS i RETURN i, repeat('x', 60000) AS s"):
        if event["type"] == "rows":
            assert len(line) <= (8 << 20) + 70_000, len(line)  # CHUNK_BYTES, or one row past it
            assert [row[0] for row in event["rows"]] == list(range(rows + 1, rows + 1 + len(event["rows"])))
            rows += len(event["rows"])
    assert rows == 600
