"""LadybugDB vs Kuzu in one run, on the same machine and data: what docs/benchmarks.md's "choosing an
engine" section and the README's default rest on.

    .venv/bin/python bench/engines.py [--nodes 1000000] [--rels 5000000] [--seconds 5] [--databases 20]

For each engine, alternating (kuzu, ladybug):
- bulk load: 1M Person nodes then 5M Knows relationships, COPY from Arrow, the engine alone
  (bench/engine_alone.py load), into a database the node created;
- point lookup by primary key on those 1M nodes, the engine alone: `WHERE p.id = $id`, `{id: $id}` and
  a literal (Kuzu 0.11.3 does not use the index for a parameter: docs/engine-facts.md);
- the same parameterized point query through the node API (4 closed-loop clients);
- a 1M-row NDJSON stream through the node API and the engine alone (bench/streaming.py's measure);
- idle database memory: bench/tenancy.py --databases N (its JSON result is read back).
Writes bench/results/engines.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    HEADERS,
    REPO,
    RESULTS_DIR,
    engine_alone,
    free_port,
    graph_file,
    start_node,
    stop_process,
    write_result,
)
from query_path import DDL, QUERIES, load  # noqa: E402
from streaming import through_api  # noqa: E402

ENGINES = ("kuzu", "ladybug")


def create(base: Path, engine: str, work: Path, graphs: dict[str, str]) -> None:
    port = free_port()
    proc = start_node(base, port, work / f"create-{engine}.log", engine=engine)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=HEADERS, timeout=120) as http:
            for graph_id, ddl in graphs.items():
                http.post("/databases", json={"graph_id": graph_id, "schema_type": "custom",
                                              "custom_ddl": ddl}).raise_for_status()
    finally:
        stop_process(proc)


def point_through_api(base: Path, engine: str, work: Path, nodes: int, seconds: float) -> dict:
    port = free_port()
    proc = start_node(base, port, work / f"node-{engine}.log", engine=engine, KUZU_MEMORY_PER_DB_MB="2048",
                      KUZU_THREADS_PER_DB="2")
    url, path = f"http://127.0.0.1:{port}", "/databases/people/query"
    try:
        asyncio.run(load([url], [path], nodes, 1, 4, HEADERS, QUERIES["point"]))  # open and warm
        return asyncio.run(load([url], [path], nodes, seconds, 4, HEADERS, QUERIES["point"]))
    finally:
        stop_process(proc)


def measure(engine: str, args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"bench-engines-{engine}-"))
    base = work / "dbs"
    create(base, engine, work, {"people": DDL, "stream": "CREATE NODE TABLE T(id INT64, PRIMARY KEY(id))"})
    people = str(graph_file(base, "people", engine))
    started = time.perf_counter()
    bulk = engine_alone(engine, "load", people, str(args.nodes), str(args.rels))
    bulk["seconds"] = round(time.perf_counter() - started, 2)
    lookups = engine_alone(engine, "lookups", people, str(args.nodes), str(args.seconds))
    api_point = point_through_api(base, engine, work, args.nodes, args.seconds)
    stream_api = through_api(base, engine, args.stream_rows, 1000, work)
    stream_alone = engine_alone(engine, "stream", str(graph_file(base, "stream", engine)), str(args.stream_rows), "1000")
    subprocess.run([sys.executable, str(REPO / "bench" / "tenancy.py"), "--engine", engine,
                    "--databases", str(args.databases)], check=True, capture_output=True, cwd=REPO)
    tenancy = json.loads((RESULTS_DIR / f"tenancy_{engine}.json").read_text())
    return {
        "bulk_load": {"nodes_per_s": round(bulk["nodes_per_s"]), "rels_per_s": round(bulk["rels_per_s"]),
                      "seconds_total": bulk["seconds"]},
        "point_lookup_engine_alone_per_s": {k.removesuffix("_lookups_per_s"): round(v, 1) for k, v in lookups.items()},
        "point_query_node_api": {k: api_point[k] for k in ("throughput_rps", "p50_ms", "p99_ms", "errors")},
        "stream_1m_rows": {"node_api_rows_per_s": round(stream_api["rows_per_s"]),
                           "engine_alone_rows_per_s": round(stream_alone["rows_per_s"]),
                           "worker_peak_rss_growth_mb": round(stream_api["worker_growth_mb"], 1),
                           "http_process_peak_rss_growth_mb": round(stream_api["http_process_growth_mb"], 1)},
        "idle_databases": {k: tenancy[k] for k in (
            "databases", "mb_per_open_idle_database_worker_included",
            "engine_alone_mb_per_open_database_in_one_process", "mb_per_closed_database",
            "first_query_on_closed_database_ms_median", "query_on_open_database_ms_median")},
        "database_file_mb": round(Path(people).stat().st_size / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--rels", type=int, default=5_000_000)
    parser.add_argument("--stream-rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--databases", type=int, default=20)
    args = parser.parse_args()
    results = {engine: measure(engine, args) for engine in ENGINES}
    k, lb = results["kuzu"], results["ladybug"]
    ratios = {
        "bulk_load_nodes": round(lb["bulk_load"]["nodes_per_s"] / k["bulk_load"]["nodes_per_s"], 2),
        "bulk_load_rels": round(lb["bulk_load"]["rels_per_s"] / k["bulk_load"]["rels_per_s"], 2),
        "point_lookup_parameter_engine_alone": round(lb["point_lookup_engine_alone_per_s"]["parameter"]
                                                     / k["point_lookup_engine_alone_per_s"]["parameter"], 1),
        "point_query_node_api": round(lb["point_query_node_api"]["throughput_rps"]
                                      / max(k["point_query_node_api"]["throughput_rps"], 0.1), 1),
        "stream_node_api": round(lb["stream_1m_rows"]["node_api_rows_per_s"] / k["stream_1m_rows"]["node_api_rows_per_s"], 2),
        "idle_database_mb": round(lb["idle_databases"]["mb_per_open_idle_database_worker_included"]
                                  / k["idle_databases"]["mb_per_open_idle_database_worker_included"], 2),
    }
    write_result("engines", {"benchmark": "engines", "params": vars(args), "ladybug_over_kuzu": ratios, **results})


if __name__ == "__main__":
    main()
