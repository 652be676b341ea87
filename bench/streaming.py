"""(b) Streaming 1M rows as NDJSON through the node API: rows/s, and the peak RSS growth of the HTTP
process and of the database's worker process, reported apart; beside the engine alone (the same
query iterated in a process of its own with the engine's API and orjson) in the same run.

    .venv/bin/python bench/streaming.py [--engine kuzu] [--rows 1000000] [--chunk 1000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    HEADERS,
    PeakRss,
    engine_alone,
    free_port,
    graph_file,
    start_node,
    stop_process,
    write_result,
)

QUERY = "UNWIND range(1, $n) AS i RETURN i, 'row-' + cast(i AS STRING) AS name, cast(i AS DOUBLE) / 2.0 AS half"


def through_api(base: Path, engine: str, rows: int, chunk: int, work: Path) -> dict:
    port = free_port()
    proc = start_node(base, port, work / "node.log", engine=engine, KUZU_MEMORY_PER_DB_MB="2048",
                      KUZU_MAX_MEMORY_MB="8192", KUZU_CHUNK_SIZE=str(chunk))
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=HEADERS, timeout=300) as http:
            http.post("/databases/stream/query", json={"cypher": "RETURN 1"}).raise_for_status()  # open + warm
            with PeakRss(proc.pid) as peaks:
                started = time.perf_counter()
                seen = 0
                with http.stream("POST", "/databases/stream/query", json={"cypher": QUERY, "parameters": {"n": rows}},
                                 headers={"Accept": "application/x-ndjson"}) as response:
                    response.raise_for_status()
                    for line in response.iter_lines():
                        event = orjson.loads(line)
                        if event["type"] == "rows":
                            seen += len(event["rows"])
                        elif event["type"] == "error":
                            raise RuntimeError(event)
                elapsed = time.perf_counter() - started
            assert seen == rows, seen
            return {"rows_per_s": rows / elapsed, "http_process_growth_mb": peaks.growth_mb,
                    "worker_growth_mb": peaks.child_growth_mb}
    finally:
        stop_process(proc)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=("kuzu", "ladybug"), default="kuzu")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=1000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-stream-"))
    base = work / "dbs"
    port = free_port()
    proc = start_node(base, port, work / "create.log", engine=args.engine)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=HEADERS) as http:
        http.post("/databases", json={"graph_id": "stream", "schema_type": "custom",
                                      "custom_ddl": "CREATE NODE TABLE T(id INT64, PRIMARY KEY(id))"}).raise_for_status()
    stop_process(proc)

    api = through_api(base, args.engine, args.rows, args.chunk, work)
    alone = engine_alone(args.engine, "stream", str(graph_file(base, "stream", args.engine)), str(args.rows),
                         str(args.chunk))
    summary = {
        "benchmark": "streaming_ndjson",
        "engine": args.engine,
        "rows": args.rows,
        "chunk_size": args.chunk,
        "node_api_rows_per_s": round(api["rows_per_s"]),
        "engine_alone_rows_per_s": round(alone["rows_per_s"]),
        "ratio_to_engine": round(api["rows_per_s"] / alone["rows_per_s"], 3),
        "http_process_peak_rss_growth_mb": round(api["http_process_growth_mb"], 1),
        "worker_peak_rss_growth_mb": round(api["worker_growth_mb"], 1),
        "engine_alone_peak_rss_mb": round(alone["peak_rss_mb"], 1),
    }
    write_result(f"streaming_{args.engine}", summary)


if __name__ == "__main__":
    main()
