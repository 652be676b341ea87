"""(b) Streaming 1M rows as NDJSON through the node API: rows/s and the server's peak RSS growth,
beside the engine alone (the same query iterated in-process with Kuzu's own API) in the same run.

    .venv/bin/python bench/streaming.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx
import kuzu
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HEADERS, PeakRss, free_port, start_node, stop_process, write_result  # noqa: E402

QUERY = "UNWIND range(1, $n) AS i RETURN i, 'row-' + cast(i AS STRING) AS name, cast(i AS DOUBLE) / 2.0 AS half"


def engine_alone(db_file: Path, rows: int, chunk: int) -> float:
    database = kuzu.Database(str(db_file), buffer_pool_size=512 << 20, max_num_threads=2, max_db_size=64 << 30)
    conn = kuzu.Connection(database)
    started = time.perf_counter()
    result = conn.execute(QUERY, {"n": rows})
    seen = 0
    while result.has_next():
        batch = result.get_n(chunk)
        orjson.dumps(batch)  # the limit includes encoding, which any server must do
        seen += len(batch)
    elapsed = time.perf_counter() - started
    conn.close()
    database.close()
    assert seen == rows
    return rows / elapsed


def through_api(base: Path, rows: int, chunk: int, work: Path) -> tuple[float, float]:
    port = free_port()
    proc = start_node(base, port, work / "node.log", KUZU_MEMORY_PER_DB_MB="512", KUZU_CHUNK_SIZE=str(chunk))
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=HEADERS, timeout=300) as http:
            http.post("/databases/stream/query", json={"cypher": "RETURN 1"}).raise_for_status()  # open + warm
            with PeakRss(proc.pid) as rss:
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
            return rows / elapsed, rss.growth_mb
    finally:
        stop_process(proc)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=1000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-stream-"))
    base = work / "dbs"
    port = free_port()
    proc = start_node(base, port, work / "create.log")
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=HEADERS) as http:
        http.post("/databases", json={"graph_id": "stream", "schema_type": "custom",
                                      "custom_ddl": "CREATE NODE TABLE T(id INT64, PRIMARY KEY(id))"}).raise_for_status()
    stop_process(proc)

    api_rps, growth = through_api(base, args.rows, args.chunk, work)
    engine_rps = engine_alone(base / "stream" / "graph.kuzu", args.rows, args.chunk)
    summary = {
        "benchmark": "streaming_ndjson",
        "rows": args.rows,
        "chunk_size": args.chunk,
        "node_api_rows_per_s": round(api_rps),
        "engine_alone_rows_per_s": round(engine_rps),
        "ratio_to_engine": round(api_rps / engine_rps, 3),
        "server_peak_rss_growth_mb": round(growth, 1),
    }
    write_result("streaming", summary)


if __name__ == "__main__":
    main()
