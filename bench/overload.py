"""Overload on loopback: a node under 10x its admission capacity answers every request with a result
or a 503 carrying Retry-After, never crashes, and keeps admitted requests fast.

    .venv/bin/python bench/overload.py [--duration 10] [--factor 10]

Steps (bounded: every phase has a fixed duration or count; the run stops itself):
1. start a node (real uvicorn process) with a small admission capacity:
   GRAPH_API_MAX_CONCURRENT_QUERIES=C running + GRAPH_API_MAX_QUEUED_QUERIES=Q waiting;
2. unloaded: one client, sequential requests -> p50/p99;
3. overload: factor x (C + Q) closed-loop clients that never back off, for `duration` seconds;
4. checks: every answer is 200, or 503 with Retry-After; the node still answers /status/live; the
   p99 of admitted (200) requests is within 3x the unloaded p99; then the node recovers (/status 200).
Writes bench/results/overload.json; exits non-zero when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._common import HEADERS, free_port, percentile, start_node, stop_process  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "overload.json"
QUERY = {"cypher": "UNWIND range(1, 20000) AS x RETURN sum(x)"}  # a few ms of engine work
# Defaults for a 2-core machine that also runs the load generator: one query at a time is what the
# engine's CPU can serve fast; more only add contention, and a queue adds wait (docs/load-and-faults.md).
CONCURRENT, QUEUED = 1, 0


async def unloaded(http: httpx.AsyncClient, path: str, count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        response = await http.post(path, json=QUERY)
        latencies.append(time.perf_counter() - started)
        response.raise_for_status()
    return latencies


async def overload(http: httpx.AsyncClient, path: str, clients: int, duration_s: float) -> dict:
    statuses: Counter[int] = Counter()
    admitted: list[float] = []
    missing_retry_after = 0
    transport_errors: Counter[str] = Counter()
    deadline = time.monotonic() + duration_s

    async def client() -> None:
        nonlocal missing_retry_after
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                response = await http.post(path, json=QUERY)
            except httpx.HTTPError as exc:
                transport_errors[type(exc).__name__] += 1
                continue
            statuses[response.status_code] += 1
            if response.status_code == 200:
                admitted.append(time.perf_counter() - started)
            elif response.status_code == 503:
                missing_retry_after += "retry-after" not in response.headers
                await asyncio.sleep(0.005)  # no back-off beyond yielding: keep the pressure on

    await asyncio.gather(*(client() for _ in range(clients)))
    return {"statuses": dict(statuses), "admitted": admitted, "missing_retry_after": missing_retry_after,
            "transport_errors": dict(transport_errors)}


def ms(values: list[float], pct: float) -> float:
    return round(percentile(values, pct) * 1000, 2) if values else float("nan")


async def run(duration_s: float, factor: int, unloaded_count: int, concurrent: int, queued: int) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        node = start_node(Path(tmp) / "dbs", port, Path(tmp) / "node.log",
                          GRAPH_API_MAX_CONCURRENT_QUERIES=str(concurrent), GRAPH_API_MAX_QUEUED_QUERIES=str(queued),
                          KUZU_THREADS_PER_DB="1", KUZU_MEMORY_PER_DB_MB="128", KUZU_MAX_DB_SIZE_GB="16")
        try:
            clients = factor * (concurrent + queued)
            limits = httpx.Limits(max_connections=clients + 4, max_keepalive_connections=clients + 4)
            async with httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=60, limits=limits,
                                         trust_env=False) as http:
                (await http.post("/databases", json={"graph_id": "bench", "schema_type": "entity"})).raise_for_status()
                path = "/databases/bench/query"
                await unloaded(http, path, 50)  # warm-up: the database opens, the pool fills
                base = await unloaded(http, path, unloaded_count)
                loaded = await overload(http, path, clients, duration_s)
                alive = (await http.get("/status/live")).status_code == 200
                await asyncio.sleep(1.0)
                recovered = (await http.get("/status")).status_code == 200
                after = await unloaded(http, path, 50)
            crashed = node.poll() is not None
        finally:
            stop_process(node)

    statuses = loaded["statuses"]
    unexpected = {s: n for s, n in statuses.items() if s not in (200, 503)}
    p99_unloaded = percentile(base, 99)
    p99_admitted = percentile(loaded["admitted"], 99) if loaded["admitted"] else float("inf")
    answered = sum(statuses.values())
    result = {
        "node": {"max_concurrent_queries": concurrent, "max_queued_queries": queued},
        "clients": clients, "factor": factor, "duration_s": duration_s, "query": QUERY["cypher"],
        "unloaded": {"requests": len(base), "p50_ms": ms(base, 50), "p99_ms": ms(base, 99)},
        "overload": {
            "answered": answered, "per_s": round(answered / duration_s, 1), "statuses": statuses,
            "admitted": len(loaded["admitted"]), "admitted_per_s": round(len(loaded["admitted"]) / duration_s, 1),
            "rejected_share": round(statuses.get(503, 0) / max(1, answered), 3),
            "admitted_p50_ms": ms(loaded["admitted"], 50), "admitted_p99_ms": ms(loaded["admitted"], 99),
            "missing_retry_after": loaded["missing_retry_after"], "transport_errors": loaded["transport_errors"],
        },
        "after": {"p50_ms": ms(after, 50), "p99_ms": ms(after, 99)},
        "p99_ratio": round(p99_admitted / p99_unloaded, 2),
        "checks": {
            "only_200_or_503": not unexpected and not loaded["transport_errors"],
            "every_503_has_retry_after": loaded["missing_retry_after"] == 0,
            "some_requests_were_shed": statuses.get(503, 0) > 0,
            "alive_during_overload": alive, "recovered": recovered, "no_crash": not crashed,
            "admitted_p99_within_3x_unloaded": p99_admitted <= 3 * p99_unloaded,
        },
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of overload")
    parser.add_argument("--factor", type=int, default=10, help="clients per admission slot (running + queued)")
    parser.add_argument("--unloaded", type=int, default=300, help="sequential requests for the unloaded p99")
    parser.add_argument("--concurrent", type=int, default=CONCURRENT, help="GRAPH_API_MAX_CONCURRENT_QUERIES")
    parser.add_argument("--queued", type=int, default=QUEUED, help="GRAPH_API_MAX_QUEUED_QUERIES")
    args = parser.parse_args()
    result = asyncio.run(run(args.duration, args.factor, args.unloaded, args.concurrent, args.queued))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    sys.exit(0 if all(result["checks"].values()) else 1)


if __name__ == "__main__":
    main()
