"""(c) Tenancy: RSS per open idle database with 200 databases open on one node.

    .venv/bin/python bench/tenancy.py [--databases 200]

Measures the node's RSS with no database open, then after each database was created and queried
once (so it is open and idle), and reports the growth per database.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HEADERS, free_port, start_node, stop_process  # noqa: E402

DDL = "CREATE NODE TABLE Person(id INT64, name STRING, PRIMARY KEY(id)); CREATE REL TABLE Knows(FROM Person TO Person)"


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--databases", type=int, default=200)
    args = parser.parse_args()
    n = args.databases
    work = Path(tempfile.mkdtemp(prefix="bench-tenancy-"))
    base = work / "dbs"
    env = {"KUZU_MAX_DATABASES_PER_NODE": str(n + 10), "KUZU_MAX_OPEN_DATABASES": str(n + 10),
           "KUZU_MEMORY_PER_DB_MB": "256", "KUZU_IDLE_DATABASE_TIMEOUT": "3600"}
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
    finally:
        stop_process(proc)
    summary = {
        "benchmark": "tenancy",
        "databases_open": n,
        "rss_before_mb": round(before, 1),
        "rss_after_mb": round(after, 1),
        "rss_per_open_idle_database_mb": round((after - before) / n, 3),
        "virtual_memory_gb": round(vms_gb, 1),
        "buffer_pool_per_db_mb": 256,
    }
    out = Path(__file__).parent / "results" / "tenancy.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
