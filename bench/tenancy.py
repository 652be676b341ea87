"""(c) Tenancy: what an open idle database costs (its worker process included), what a closed one
costs, and what the first query on a closed database pays to reopen it; beside the same databases
opened by the engine alone in one process.

    .venv/bin/python bench/tenancy.py [--engine kuzu] [--databases 20]

Measures the node's process tree (HTTP process + workers) with no database open, with every database
open and idle (each queried once), and after the idle timeout closed them all.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    HEADERS,
    engine_alone,
    free_port,
    graph_file,
    start_node,
    stop_process,
    tree_rss,
    write_result,
)

DDL = "CREATE NODE TABLE Person(id INT64, name STRING, PRIMARY KEY(id)); CREATE REL TABLE Knows(FROM Person TO Person)"
BUFFER_POOL_MB = 256


def tree_mb(pid: int, serving: set[int] = frozenset()) -> tuple[float, float, float]:
    """(HTTP process MB, MB of the workers serving databases, MB of the others: the spare)."""
    own, children = tree_rss(pid)
    mine = sum(rss for child, rss in children.items() if child in serving)
    return own / 2**20, mine / 2**20, (sum(children.values()) - mine) / 2**20


def query_times_ms(http: httpx.Client, count: int) -> list[float]:
    """One count query on each of the first `count` databases, timed."""
    times = []
    for i in range(count):
        started = time.perf_counter()
        http.post(f"/databases/t{i:04d}/query", json={"cypher": "MATCH (p:Person) RETURN count(p)"}).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=("kuzu", "ladybug"), default="kuzu")
    parser.add_argument("--databases", type=int, default=20)
    args = parser.parse_args()
    n = args.databases
    work = Path(tempfile.mkdtemp(prefix="bench-tenancy-"))
    base = work / "dbs"
    env = {"KUZU_MAX_DATABASES_PER_NODE": str(n + 10), "KUZU_MAX_OPEN_DATABASES": str(n + 10),
           "KUZU_MEMORY_PER_DB_MB": str(BUFFER_POOL_MB), "GRAPH_API_BUFFER_POOL_FRACTION": "1.0",
           "KUZU_IDLE_DATABASE_TIMEOUT": "10"}
    port = free_port()
    proc = start_node(base, port, work / "create.log", engine=args.engine, **env)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=HEADERS, timeout=60) as http:
        for i in range(n):
            http.post("/databases", json={"graph_id": f"t{i:04d}", "schema_type": "custom",
                                          "custom_ddl": DDL}).raise_for_status()
    stop_process(proc)

    proc = start_node(base, port, work / "node.log", engine=args.engine, **env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=HEADERS, timeout=60) as http:
            http.get("/info").raise_for_status()
            time.sleep(1)
            node_before, _, spare_mb = tree_mb(proc.pid)
            first_open_ms = query_times_ms(http, n)
            time.sleep(1)
            serving = {d["worker_pid"] for d in http.get("/status/databases").json()["databases"] if d["is_open"]}
            assert len(serving) == n
            node_open, workers_open, _ = tree_mb(proc.pid, serving)
            warm_ms = query_times_ms(http, n)
            deadline = time.monotonic() + 60  # past KUZU_IDLE_DATABASE_TIMEOUT the reaper closes them
            while http.get("/info").json()["open_databases"] and time.monotonic() < deadline:
                time.sleep(1)
            time.sleep(1)
            node_closed, _, others_closed = tree_mb(proc.pid)
            reopen_ms = query_times_ms(http, n)
    finally:
        stop_process(proc)
    alone = engine_alone(args.engine, "open-idle", str(BUFFER_POOL_MB),
                         *(str(graph_file(base, f"t{i:04d}", args.engine)) for i in range(n)))
    per_db = workers_open / n + (node_open - node_before) / n
    summary = {
        "benchmark": "tenancy",
        "engine": args.engine,
        "databases": n,
        "http_process_mb_no_database_open": round(node_before, 1),
        "http_process_mb_all_open": round(node_open, 1),
        "workers_mb_all_open": round(workers_open, 1),
        "mb_per_open_idle_database_worker_included": round(per_db, 2),
        "engine_alone_mb_per_open_database_in_one_process": round(alone["mb_per_database"], 2),
        "engine_alone_process_baseline_mb": round(alone["process_baseline_mb"], 1),
        "mb_per_closed_database": round((node_closed + others_closed - node_before - spare_mb) / n, 3),
        "spare_worker_mb": round(spare_mb, 1),
        "first_query_on_closed_database_ms_median": round(statistics.median(reopen_ms), 2),
        "first_query_after_start_ms_median": round(statistics.median(first_open_ms), 2),
        "query_on_open_database_ms_median": round(statistics.median(warm_ms), 2),
        "buffer_pool_per_db_mb": BUFFER_POOL_MB,
    }
    write_result(f"tenancy_{args.engine}", summary)


if __name__ == "__main__":
    main()
