"""Backup and restore throughput of a 1M-node, 5M-edge Kuzu database, against a plain copy.

    .venv/bin/python bench/backup_restore.py [--nodes 1000000 --edges 5000000]

The node runs in-process (create_app); the benchmark drives the operations service the HTTP routes
call. In one run it measures:
- plain copy: shutil.copytree of the graph's directory, the limit for any file-level backup;
- backup (local destination): consistent copy under the write lock, row counts from the copy,
  tar + zstd + sha256, put in place; and how long writers were held back (the lock) while a writer
  kept inserting during the backup;
- restore (as a new graph): extract while hashing, open and verify against the manifest, publish.
MB/s are of the database's bytes on disk (uncompressed), so the three figures compare directly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from node_api.app import create_app
from node_api.backends.base import StatementKind
from node_api.backends.embedded.catalog import Catalog
from node_api.settings import NodeSettings

REPO = Path(__file__).resolve().parents[1]
DDL = ["CREATE NODE TABLE Person(id INT64, name STRING, score DOUBLE, PRIMARY KEY(id))",
       "CREATE REL TABLE Knows(FROM Person TO Person, since INT64)"]


async def load(backend: Any, graph_id: str, nodes: int, edges: int) -> None:
    ids = pa.array(range(nodes), pa.int64())
    people = pa.table({"id": ids, "name": pc.binary_join_element_wise("person-", pc.cast(ids, pa.string()), ""),
                       "score": pc.divide(pc.cast(ids, pa.float64()), float(nodes))})
    await backend.bulk_load(graph_id, "Person", people, ignore_errors=False)
    step = 1_000_000
    for start in range(0, edges, step):
        n = min(step, edges - start)
        seq = pa.array(range(start, start + n), pa.int64())
        # A cheap deterministic spread of endpoints (multiplicative hashing), no numpy needed.
        src = pc.bit_wise_and(pc.multiply(seq, 2654435761), 0x7FFFFFFF)
        dst = pc.bit_wise_and(pc.multiply(seq, 40503), 0x7FFFFFFF)
        knows = pa.table({"from": pc.cast(pc.floor(pc.divide(pc.multiply(pc.cast(src, pa.float64()), nodes), 2**31)),
                                          pa.int64()),
                          "to": pc.cast(pc.floor(pc.divide(pc.multiply(pc.cast(dst, pa.float64()), nodes), 2**31)),
                                        pa.int64()),
                          "since": pc.add(pc.bit_wise_and(seq, 31), 1990)})
        await backend.bulk_load(graph_id, "Knows", knows, ignore_errors=False)


async def writer(backend: Any, graph_id: str, stop: asyncio.Event, latencies: list[float]) -> None:
    i = 10_000_000
    while not stop.is_set():
        started = time.perf_counter()
        await backend.execute(graph_id, "CREATE (:Person {id: $id, name: 'w'})", {"id": i}, timeout_s=60,
                              kind=StatementKind.WRITE)
        latencies.append((time.perf_counter() - started) * 1000)
        i += 1
        await asyncio.sleep(0.005)


async def run(nodes: int, edges: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(dir=REPO / ".bench-tmp" if (REPO / ".bench-tmp").is_dir() else None) as tmp:
        base = Path(tmp) / "dbs"
        settings = NodeSettings(base_path=base, api_key="bench-key", memory_per_db_mb=1024, threads_per_db=2,
                                max_db_size_gb=64)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            node = app.state.node
            backend, service = node.backend, node.services["operations"]
            await backend.create_database("big", "custom", DDL)
            started = time.perf_counter()
            await load(backend, "big", nodes, edges)
            load_s = time.perf_counter() - started
            db_bytes = Catalog.size_bytes(backend.catalog.graph_dir("big"))

            # The limit: a plain copy of the directory (page cache warm for every step alike).
            started = time.perf_counter()
            await asyncio.to_thread(shutil.copytree, backend.catalog.graph_dir("big"), Path(tmp) / "plain")
            plain_s = time.perf_counter() - started
            await asyncio.to_thread(shutil.rmtree, Path(tmp) / "plain")

            registry = await service.tasks()
            stop, latencies = asyncio.Event(), []
            write_task = asyncio.create_task(writer(backend, "big", stop, latencies))
            await asyncio.sleep(0.5)
            started = time.perf_counter()
            task = await registry.wait((await service.start_backup("big", "local")).task_id)
            backup_s = time.perf_counter() - started
            stop.set()
            await write_task
            assert task.status.value == "succeeded", task.error
            result = task.result or {}

            started = time.perf_counter()
            restored = await registry.wait((await service.start_restore("big", result["location"], "bigcopy")).task_id)
            restore_s = time.perf_counter() - started
            assert restored.status.value == "succeeded", restored.error
            check = await backend.database_stats("bigcopy")
            assert (check.node_count, check.rel_count) == (result["node_count"], result["rel_count"])

    mb = db_bytes / 1e6
    return {
        "benchmark": "backup_restore",
        "nodes": nodes,
        "edges": edges,
        "database_mb": round(mb, 1),
        "load_seconds": round(load_s, 1),
        "plain_copy_seconds": round(plain_s, 2),
        "plain_copy_mb_per_s": round(mb / plain_s, 1),
        "backup_seconds": round(backup_s, 2),
        "backup_mb_per_s": round(mb / backup_s, 1),
        "backup_write_lock_ms": result["write_lock_ms"],
        "backup_snapshot_seconds": result["copy_seconds"],
        "archive_mb": round(result["size_bytes"] / 1e6, 1),
        "compression_ratio": round(db_bytes / result["size_bytes"], 2),
        "restore_seconds": round(restore_s, 2),
        "restore_mb_per_s": round(mb / restore_s, 1),
        "backup_vs_plain_copy": round(plain_s / backup_s, 3),
        "restore_vs_plain_copy": round(plain_s / restore_s, 3),
        "writes_during_backup": len(latencies),
        "write_latency_ms_median": round(statistics.median(latencies), 2) if latencies else None,
        "write_latency_ms_max": round(max(latencies), 1) if latencies else None,
        "cpu_cores": __import__("os").cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--edges", type=int, default=5_000_000)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "backup_restore.json")
    args = parser.parse_args()
    result = asyncio.run(run(args.nodes, args.edges))
    print(json.dumps(result, indent=2))
    if args.nodes >= 1_000_000:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
