"""Query and bulk-load benchmarks of the Neo4j backend, beside the official driver used directly (the
limit the backend can approach), in the same run against the same Bolt server.

    .venv/bin/python bench/neo4j_bench.py                 # starts a local ArcadeDB Bolt server
    .venv/bin/python bench/neo4j_bench.py --rows 200000 --json bench/results/neo4j.json
    NEO4J_URI=... NEO4J_PASSWORD=... .venv/bin/python bench/neo4j_bench.py --external --admin-url http://...

Each figure is the median of --repeat runs. Without --external the server is the test suite's
ArcadeDB (tests/support/arcadedb_server.py), so absolute numbers are ArcadeDB's, not Neo4j's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
from neo4j import AsyncGraphDatabase

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from node_api.backends.base import StatementKind  # noqa: E402
from node_api.backends.neo4j.admin import ArcadeDBHttpAdmin  # noqa: E402
from node_api.backends.neo4j.backend import Neo4jBackend  # noqa: E402
from node_api.settings import NodeSettings  # noqa: E402

DDL = ["CREATE NODE TABLE Item(id INT64, name STRING, score DOUBLE, PRIMARY KEY(id))"]


async def timed(fn: Callable[[], Awaitable[Any]], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def items(n: int, offset: int = 0) -> pa.Table:
    ids = list(range(offset, offset + n))
    return pa.table({"id": pa.array(ids, pa.int64()), "name": [f"item-{i}" for i in ids],
                     "score": [i * 0.5 for i in ids]})


async def run(args: argparse.Namespace) -> dict[str, Any]:
    server = None
    if args.external:
        settings = NodeSettings()  # type: ignore[call-arg]
        admin = ArcadeDBHttpAdmin(args.admin_url, settings.neo4j_username,
                                  settings.neo4j_password.get_secret_value())
    else:
        from tests.support import arcadedb_server

        server = arcadedb_server.acquire()
        settings = arcadedb_server.neo4j_settings(server, Path(tempfile.mkdtemp()),
                                                  NEO4J_MAX_CONNECTION_POOL_SIZE=16)
        admin = ArcadeDBHttpAdmin(server.http_url, "root", arcadedb_server.ROOT_PASSWORD)
    backend = Neo4jBackend(settings, admin=admin)
    driver = AsyncGraphDatabase.driver(settings.neo4j_uri, auth=(
        settings.neo4j_username, settings.neo4j_password.get_secret_value()))
    await backend.start()
    results: dict[str, Any] = {"server": backend.server_agent, "rows": args.rows}
    graphs: list[str] = []
    try:
        # ---- bulk load: backend (Arrow -> UNWIND batches, key dedupe, one tx) vs driver UNWIND
        n, r = args.rows, args.repeat
        load_backend, load_driver = [], []
        for i in range(r):
            gid = f"bench_api_{i}"
            await backend.create_database(gid, "custom", DDL)
            graphs.append(gid)
            table = items(n)
            started = time.perf_counter()
            await backend.bulk_load(gid, "Item", table, ignore_errors=False)
            load_backend.append(time.perf_counter() - started)

            gid = f"bench_drv_{i}"
            await backend.create_database(gid, "custom", DDL)
            graphs.append(gid)
            rows = table.to_pylist()
            started = time.perf_counter()
            async with driver.session(database=gid) as session:
                tx = await session.begin_transaction()
                for s in range(0, n, 5000):
                    await (await tx.run("UNWIND $rows AS row CREATE (n:Item) SET n = row",
                                        rows=rows[s : s + 5000])).consume()
                await tx.commit()
            load_driver.append(time.perf_counter() - started)
        results["bulk_load_rows_per_s"] = {"backend": round(n / statistics.median(load_backend)),
                                           "driver": round(n / statistics.median(load_driver))}

        gid = graphs[0]
        # ---- point query, sequential
        q = "MATCH (n:Item {id: $id}) RETURN n"
        lookups = args.lookups

        async def api_points() -> None:
            for i in range(lookups):
                await backend.execute(gid, q, {"id": i}, timeout_s=30, kind=StatementKind.READ)

        async def drv_points() -> None:
            for i in range(lookups):
                async with driver.session(database=gid) as s:
                    await s.execute_read(lambda tx, i=i: _fetch(tx, q, {"id": i}))

        results["point_query_per_s"] = {"backend": round(lookups / await timed(api_points, r)),
                                        "driver": round(lookups / await timed(drv_points, r))}

        # ---- point query, 8 concurrent callers
        async def concurrent(fn: Callable[[int], Awaitable[Any]]) -> None:
            await asyncio.gather(*(fn(w) for w in range(8)))

        async def api_worker(w: int) -> None:
            for i in range(w, lookups, 8):
                await backend.execute(gid, q, {"id": i}, timeout_s=30, kind=StatementKind.READ)

        async def drv_worker(w: int) -> None:
            for i in range(w, lookups, 8):
                async with driver.session(database=gid) as s:
                    await s.execute_read(lambda tx, i=i: _fetch(tx, q, {"id": i}))

        results["point_query_8x_per_s"] = {
            "backend": round(lookups / await timed(lambda: concurrent(api_worker), r)),
            "driver": round(lookups / await timed(lambda: concurrent(drv_worker), r))}

        # ---- full scan, streamed in chunks of 1000
        scan = "MATCH (n:Item) RETURN n.id, n.name, n.score"

        async def api_scan() -> None:
            count = 0
            async with backend.stream(gid, scan, None, timeout_s=120, kind=StatementKind.READ,
                                      chunk_size=1000) as stream:
                async for chunk in stream.chunks():
                    count += len(chunk)
            assert count == n

        async def drv_scan() -> None:
            async with driver.session(database=gid, fetch_size=1000) as s:
                result = await s.run(scan)
                count = 0
                async for _ in result:
                    count += 1
            assert count == n

        results["stream_scan_rows_per_s"] = {"backend": round(n / await timed(api_scan, r)),
                                             "driver": round(n / await timed(drv_scan, r))}
    finally:
        for gid in graphs:
            await backend.delete_database(gid)
        await driver.close()
        await backend.close()
        if server is not None:
            from tests.support import arcadedb_server

            arcadedb_server.release(server)
    return results


async def _fetch(tx: Any, cypher: str, params: dict[str, Any]) -> list[Any]:
    result = await tx.run(cypher, params)
    return [r async for r in result]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--lookups", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--external", action="store_true", help="use NEO4J_URI/credentials from the environment")
    parser.add_argument("--admin-url", default="http://127.0.0.1:2480", help="ArcadeDB HTTP API (with --external)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    print(f"server: {results['server']}   rows: {results['rows']}")
    print(f"{'benchmark':<26}{'backend':>12}{'driver':>12}{'ratio':>8}")
    for name, pair in results.items():
        if isinstance(pair, dict):
            print(f"{name:<26}{pair['backend']:>12}{pair['driver']:>12}{pair['backend'] / pair['driver']:>8.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
