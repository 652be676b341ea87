"""(a) Query path: throughput and p50/p99 of a point query through the full node API (statement policy,
admission, a worker process per database), against bare uvicorn endpoints running the same query on
the same database files in-process, with the same client, in one run.

    .venv/bin/python bench/query_path.py [--engine kuzu] [--databases 1] [--nodes 100000]
                                         [--seconds 8] [--concurrency 8] [--rounds 3] [--query point]

With --databases N the node serves N databases and the client spreads its queries over them; the
limit is N bare endpoints, one per database (each its own process, as the node's workers are).
Rounds alternate node API / bare endpoints so that drift on the machine hits both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    HEADERS,
    cpu_seconds,
    free_port,
    graph_file,
    latency_summary,
    start_node,
    start_process,
    stop_process,
    write_result,
)

QUERIES = {
    # A primary-key lookup with a parameter (what the spec tells users to write). Kuzu 0.11.3 does not
    # use the primary-key index for a parameter: it scans (docs/engine-facts.md).
    "point": "MATCH (p:Person) WHERE p.id = $id RETURN p.name, p.age",
    # A query with almost no engine work: exposes the server's own per-request cost.
    "trivial": "RETURN $id AS id, 'x' AS name",
}
# Per measure, the mean over rounds; CPU per request is what explains a throughput ratio on a machine
# whose cores the client shares.
MEASURES = ("throughput_rps", "p50_ms", "p99_ms", "server_cpu_ms_per_request", "workers_cpu_ms_per_request",
            "client_cpu_ms_per_request")
DDL = ("CREATE NODE TABLE Person(id INT64, name STRING, age INT64, PRIMARY KEY(id)); "
       "CREATE REL TABLE Knows(FROM Person TO Person)")


async def load(urls: list[str], paths: list[str], nodes: int, seconds: float, concurrency: int, headers: dict,
               query: str) -> dict:
    """`concurrency` closed-loop clients; each request goes to a random (url, path) target."""
    client_cpu = time.process_time()
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency * len(urls), max_keepalive_connections=concurrency * len(urls))
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as client:
        async def worker(seed: int) -> None:
            nonlocal errors
            rng = random.Random(seed)
            while time.perf_counter() < deadline:
                target = rng.randrange(len(urls))
                body = {"cypher": query, "parameters": {"id": rng.randrange(nodes)}}
                started = time.perf_counter()
                response = await client.post(urls[target] + paths[target], json=body)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200 or len(response.json()["rows"]) != 1:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - started
    client_ms = (time.process_time() - client_cpu) * 1000 / max(1, len(latencies))
    return {**latency_summary(latencies, elapsed), "errors": errors, "client_cpu_ms_per_request": round(client_ms, 3)}


def measured(pids: list[int], run: Coroutine[Any, Any, dict]) -> dict:
    """The result of `run` (a load) with the CPU each server process spent per request during it (ms): the
    processes themselves (`server`) and their descendants (`workers`: the node's engine workers)."""
    before = [cpu_seconds(pid) for pid in pids]
    result = asyncio.run(run)
    after = [cpu_seconds(pid) for pid in pids]
    requests = max(1, result["requests"])
    server = sum(a[0] - b[0] for a, b in zip(after, before, strict=True))
    workers = sum(a[1] - b[1] for a, b in zip(after, before, strict=True))
    return {**result, "server_cpu_ms_per_request": round(server * 1000 / requests, 3),
            "workers_cpu_ms_per_request": round(workers * 1000 / requests, 3)}


def build(base: Path, engine: str, databases: int, nodes: int) -> list[Path]:
    """Creates the databases through the node API, then bulk loads them with the engine alone."""
    port = free_port()
    proc = start_node(base, port, base.parent / "build.log", engine=engine)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=HEADERS, timeout=120) as http:
            for i in range(databases):
                r = http.post("/databases", json={"graph_id": f"bench{i}", "schema_type": "custom", "custom_ddl": DDL})
                r.raise_for_status()
    finally:
        stop_process(proc)
    files = [graph_file(base, f"bench{i}", engine) for i in range(databases)]
    for file in files:
        subprocess.run([sys.executable, "bench/engine_alone.py", engine, "load", str(file), str(nodes), "0"],
                       check=True, capture_output=True)
    return files


def run(args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bench-query-"))
    base = work / "dbs"
    files = build(base, args.engine, args.databases, args.nodes)
    query = QUERIES[args.query]
    results: dict[str, list[dict]] = {"node_api": [], "bare": []}
    for _ in range(args.rounds):
        port = free_port()
        proc = start_node(base, port, work / "node.log", engine=args.engine, KUZU_MEMORY_PER_DB_MB="512",
                          KUZU_THREADS_PER_DB="2", GRAPH_API_MAX_CONCURRENT_QUERIES="16")
        url = f"http://127.0.0.1:{port}"
        paths = [f"/databases/bench{i}/query" for i in range(args.databases)]
        try:
            asyncio.run(load([url] * args.databases, paths, args.nodes, 1, args.concurrency, HEADERS, query))
            results["node_api"].append(measured([proc.pid], load(
                [url] * args.databases, paths, args.nodes, args.seconds, args.concurrency, HEADERS, query)))
        finally:
            stop_process(proc)
        procs, urls = [], []
        try:
            for file in files:
                port = free_port()
                procs.append(start_process([sys.executable, "bench/bare_endpoint.py", args.engine, str(file), str(port)],
                                           {}, f"http://127.0.0.1:{port}/", work / f"bare-{port}.log"))
                urls.append(f"http://127.0.0.1:{port}")
            asyncio.run(load(urls, ["/"] * len(urls), args.nodes, 1, args.concurrency, {}, query))
            results["bare"].append(measured([p.pid for p in procs], load(
                urls, ["/"] * len(urls), args.nodes, args.seconds, args.concurrency, {}, query)))
        finally:
            for proc in procs:
                stop_process(proc)

    def mean(name: str, key: str) -> float:
        runs = results[name]
        return round(sum(r[key] for r in runs) / len(runs), 3)

    summary = {
        "benchmark": "query_path",
        "params": vars(args),
        "node_api": {k: mean("node_api", k) for k in MEASURES},
        "bare": {k: mean("bare", k) for k in MEASURES},
        "rounds": results,
    }
    summary["throughput_ratio"] = round(summary["node_api"]["throughput_rps"] / summary["bare"]["throughput_rps"], 3)
    summary["p50_ratio"] = round(summary["node_api"]["p50_ms"] / summary["bare"]["p50_ms"], 3)
    summary["p99_ratio"] = round(summary["node_api"]["p99_ms"] / summary["bare"]["p99_ms"], 3)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=("kuzu", "ladybug"), default="kuzu")
    parser.add_argument("--databases", type=int, default=1)
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--query", choices=sorted(QUERIES), default="point")
    args = parser.parse_args()
    summary = run(args)
    write_result(f"query_path_{args.engine}_{args.query}_{args.databases}db", summary)


if __name__ == "__main__":
    main()
