"""(b) Streaming 1M rows as NDJSON through the node API: rows/s, and the peak RSS growth of the HTTP
process and of the database's worker process, reported apart; beside the engine alone (the same
query iterated in a process of its own with the engine's API and orjson) in the same run.

    .venv/bin/python bench/streaming.py [--engine kuzu] [--rows 1000000] [--chunk 1000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import orjson
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HEADERS, engine_alone, free_port, graph_file, start_node, stop_process, write_result  # noqa: E402

QUERY = "UNWIND range(1, $n) AS i RETURN i, 'row-' + cast(i AS STRING) AS name, cast(i AS DOUBLE) / 2.0 AS half"


class TreePeaks:
    """Peak RSS of the node process and of each of its workers, sampled every 5 ms."""

    def __init__(self, pid: int) -> None:
        self.node = psutil.Process(pid)
        self.node_baseline = self.node.memory_info().rss
        self.node_peak = self.node_baseline
        self.worker_baseline = {c.pid: c.memory_info().rss for c in self.node.children(recursive=True)}
        self.worker_peak = dict(self.worker_baseline)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.node_peak = max(self.node_peak, self.node.memory_info().rss)
            for child in self.node.children(recursive=True):
                try:
                    self.worker_peak[child.pid] = max(self.worker_peak.get(child.pid, 0), child.memory_info().rss)
                except psutil.Error:
                    pass
            time.sleep(0.005)

    def __enter__(self) -> TreePeaks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def node_growth_mb(self) -> float:
        return (self.node_peak - self.node_baseline) / 2**20

    @property
    def worker_growth_mb(self) -> float:
        return max((peak - self.worker_baseline.get(pid, 0)) / 2**20 for pid, peak in self.worker_peak.items())


def through_api(base: Path, engine: str, rows: int, chunk: int, work: Path) -> dict:
    port = free_port()
    proc = start_node(base, port, work / "node.log", engine=engine, KUZU_MEMORY_PER_DB_MB="2048",
                      KUZU_MAX_MEMORY_MB="8192", KUZU_CHUNK_SIZE=str(chunk))
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=HEADERS, timeout=300) as http:
            http.post("/databases/stream/query", json={"cypher": "RETURN 1"}).raise_for_status()  # open + warm
            with TreePeaks(proc.pid) as peaks:
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
            return {"rows_per_s": rows / elapsed, "http_process_growth_mb": peaks.node_growth_mb,
                    "worker_growth_mb": peaks.worker_growth_mb}
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
