"""(c) Tenancy: RSS per open idle database with 200 databases open on one node.

    .venv/bin/python bench/tenancy.py [--databases 200]

Measures the node's RSS with no database open, then after each database was created and queried
once (so it is open and idle), and reports the growth per database.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HEADERS, free_port, start_node, stop_process, write_result  # noqa: E402

DDL = "CREATE NODE TABLE Person(id INT64, name STRING, PRIMARY KEY(id)); CREATE REL TABLE Knows(FROM Person TO Person)"


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


BARE_ENGINE = """
import os, sys, kuzu, psutil
paths, bp = sys.argv[1:-1], int(sys.argv[-1])
proc = psutil.Process()
before = proc.memory_info().rss
keep = []
for path in paths:
    db = kuzu.Database(path, buffer_pool_size=bp << 20, max_num_threads=2, max_db_size=64 << 30)
    conn = kuzu.Connection(db)
    conn.execute("MATCH (p:Person) RETURN count(p)").get_all()
    keep.append((db, conn))
print((proc.memory_info().rss - before) / 2**20 / len(paths))
"""


def query_times_ms(http: httpx.Client, count: int) -> list[float]:
    """One count query on each of the first `count` databases, timed."""
    times = []
    for i in range(count):
        started = time.perf_counter()
        http.post(f"/databases/t{i:04d}/query", json={"cypher": "MATCH (p:Person) RETURN count(p)"}).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return times


def bare_engine_mb_per_db(files: list[Path], buffer_pool_mb: int) -> float:
    """The floor: the same databases opened by Kuzu alone in a fresh process, no server around them."""
    out = subprocess.run([sys.executable, "-c", BARE_ENGINE, *map(str, files), str(buffer_pool_mb)],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--databases", type=int, default=200)
    args = parser.parse_args()
    n = args.databases
    work = Path(tempfile.mkdtemp(prefix="bench-tenancy-"))
    base = work / "dbs"
    env = {"KUZU_MAX_DATABASES_PER_NODE": str(n + 10), "KUZU_MAX_OPEN_DATABASES": str(n + 10),
           "KUZU_MEMORY_PER_DB_MB": "256", "KUZU_IDLE_DATABASE_TIMEOUT": "20"}
    port = free_port()
    proc = start_node(base, port, work / "create.log", **env)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=HEADERS, timeout=60) as http:
        for i in range(n):
            http.post("/databases", json={"graph_id": f"t{i:04d}", "schema_type": "custom",
                                          "custom_ddl": DDL}).raise_for_status()
    stop_process(proc)

    # Fresh process: the baseline holds no open database.
    proc = start_node(base, port, work / "node.log", **env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=HEADERS, timeout=60) as http:
            http.get("/info").raise_for_status()
            time.sleep(1)
            before = rss_mb(proc.pid)
            for i in range(n):
                http.post(f"/databases/t{i:04d}/query",
                          json={"cypher": "MATCH (p:Person) RETURN count(p)"}).raise_for_status()
            time.sleep(1)
            after = rss_mb(proc.pid)
            info = http.get("/info").json()
            assert info["open_databases"] == n, info
            vms_gb = psutil.Process(proc.pid).memory_info().vms / 2**30
            # Past KUZU_IDLE_DATABASE_TIMEOUT the reaper closes them and hands the heap back.
            deadline = time.monotonic() + 60
            while http.get("/info").json()["open_databases"] and time.monotonic() < deadline:
                time.sleep(1)
            time.sleep(1)
            after_idle_close = rss_mb(proc.pid)
            # Cost of the first query on a closed database (open + query), the price of closing,
            # then the same queries on the now open databases.
            reopen_ms = query_times_ms(http, min(20, n))
            warm_ms = query_times_ms(http, min(20, n))
    finally:
        stop_process(proc)
    bare = bare_engine_mb_per_db([base / f"t{i:04d}" / "graph.kuzu" for i in range(n)], 256)
    per_db = (after - before) / n
    summary = {
        "benchmark": "tenancy",
        "databases_open": n,
        "rss_before_mb": round(before, 1),
        "rss_after_mb": round(after, 1),
        "rss_per_open_idle_database_mb": round(per_db, 3),
        "bare_kuzu_rss_per_open_database_mb": round(bare, 3),
        "ratio_to_bare_engine": round(per_db / bare, 3),
        "virtual_memory_gb": round(vms_gb, 1),
        "rss_after_idle_close_mb": round(after_idle_close, 1),
        "rss_per_registered_idle_database_after_close_mb": round((after_idle_close - before) / n, 3),
        "first_query_on_closed_database_ms_median": round(sorted(reopen_ms)[len(reopen_ms) // 2], 2),
        "query_on_open_database_ms_median": round(sorted(warm_ms)[len(warm_ms) // 2], 2),
        "buffer_pool_per_db_mb": 256,
    }
    write_result("tenancy", summary)


if __name__ == "__main__":
    main()
