"""(a) Query path: throughput and p50/p99 of a point query through the full node API, against a bare
uvicorn endpoint running the same query on the same database, with the same client, in one run.

    .venv/bin/python bench/query_path.py [--nodes 100000] [--seconds 8] [--concurrency 8] [--rounds 3]

Rounds alternate node API / bare endpoint so that drift on the machine hits both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HEADERS, free_port, latency_summary, start_node, start_process, stop_process, write_result  # noqa: E402

QUERIES = {
    # A primary-key lookup: Kuzu spends ~4 ms planning and running it, so the engine dominates.
    "point": "MATCH (p:Person) WHERE p.id = $id RETURN p.name, p.age",
    # A query with almost no engine work: exposes the server's own per-request cost.
    "trivial": "RETURN $id AS id, 'x' AS name",
}
DDL = "CREATE NODE TABLE Person(id INT64, name STRING, age INT64, PRIMARY KEY(id))"


async def load(url: str, path: str, nodes: int, seconds: float, concurrency: int, headers: dict,
               query: str) -> dict:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30) as client:
        async def worker(seed: int) -> None:
            nonlocal errors
            rng = random.Random(seed)
            while time.perf_counter() < deadline:
                body = {"cypher": query, "parameters": {"id": rng.randrange(nodes)}}
                started = time.perf_counter()
                response = await client.post(path, json=body)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200 or len(response.json()["rows"]) != 1:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {**latency_summary(latencies, elapsed), "errors": errors}


def build(base: Path, nodes: int) -> Path:
    port = free_port()
    proc = start_node(base, port, base.parent / "build.log", KUZU_MEMORY_PER_DB_MB="256")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=HEADERS, timeout=120) as http:
            r = http.post("/databases", json={"graph_id": "bench", "schema_type": "custom", "custom_ddl": DDL})
            r.raise_for_status()
            for start in range(0, nodes, 20_000):
                r = http.post("/databases/bench/query", json={
                    "cypher": "UNWIND range($a, $b) AS i CREATE (:Person {id: i, name: 'person-' + cast(i AS STRING), "
                              "age: i % 90})",
                    "parameters": {"a": start, "b": min(nodes, start + 20_000) - 1}})
                r.raise_for_status()
    finally:
        stop_process(proc)
    return base / "bench" / "graph.kuzu"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--query", choices=sorted(QUERIES), default="point")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-query-"))
    base = work / "dbs"
    db_file = build(base, args.nodes)
    results: dict[str, list[dict]] = {"node_api": [], "bare": []}
    for _ in range(args.rounds):
        port = free_port()
        proc = start_node(base, port, work / "node.log", KUZU_MEMORY_PER_DB_MB="256", KUZU_THREADS_PER_DB="2",
                          GRAPH_API_MAX_CONCURRENT_QUERIES="16")
        try:
            asyncio.run(load(f"http://127.0.0.1:{port}", "/databases/bench/query", args.nodes, 1, args.concurrency,
                             HEADERS, QUERIES[args.query]))  # warm-up
            results["node_api"].append(asyncio.run(load(f"http://127.0.0.1:{port}", "/databases/bench/query",
                                                        args.nodes, args.seconds, args.concurrency, HEADERS,
                                                        QUERIES[args.query])))
        finally:
            stop_process(proc)
        port = free_port()
        proc = start_process([sys.executable, "bench/bare_endpoint.py", str(db_file), str(port)], {},
                             f"http://127.0.0.1:{port}/", work / "bare.log")
        try:
            asyncio.run(load(f"http://127.0.0.1:{port}", "/", args.nodes, 1, args.concurrency, {}, QUERIES[args.query]))
            results["bare"].append(asyncio.run(load(f"http://127.0.0.1:{port}", "/", args.nodes, args.seconds,
                                                    args.concurrency, {}, QUERIES[args.query])))
        finally:
            stop_process(proc)

    def total(name: str, key: str) -> float:
        runs = results[name]
        return round(sum(r[key] for r in runs) / len(runs), 3)

    summary = {
        "benchmark": "query_path",
        "params": vars(args),
        "node_api": {k: total("node_api", k) for k in ("throughput_rps", "p50_ms", "p99_ms")},
        "bare": {k: total("bare", k) for k in ("throughput_rps", "p50_ms", "p99_ms")},
        "rounds": results,
    }
    summary["throughput_ratio"] = round(summary["node_api"]["throughput_rps"] / summary["bare"]["throughput_rps"], 3)
    summary["p50_ratio"] = round(summary["node_api"]["p50_ms"] / summary["bare"]["p50_ms"], 3)
    summary["p99_ratio"] = round(summary["node_api"]["p99_ms"] / summary["bare"]["p99_ms"], 3)
    write_result(f"query_path_{args.query}", summary)


if __name__ == "__main__":
    main()
