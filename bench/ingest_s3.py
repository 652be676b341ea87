"""Ingestion throughput: Parquet in (moto) S3 -> staging -> graph, against Kuzu's own COPY FROM.

Same data, same run: 1M nodes and 5M relationships written once as Parquet files, uploaded to a
moto S3 server (a separate process on 127.0.0.1), and loaded

  node     through a real node process (`python -m node_api`): POST /tables (S3 -> DuckDB staging),
           then POST /tables/{t}/ingest (staging -> Arrow -> Kuzu COPY); also POST /copy (S3 -> graph);
  baseline by Kuzu in-process, `COPY T FROM 'local/*.parquet'` into a fresh database with the same
           schema, threads and buffer pool.

rows/s of each path, their ratio (target >= 0.7), and the node's peak RSS go to
bench/results/ingest_s3.json and docs/ingestion.md. On demand only:

    .venv/bin/python bench/ingest_s3.py [--nodes 1000000] [--rels 5000000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import API_KEY, HEADERS, REPO, SAFE_ENV, PeakRss, free_port, start_process, stop_process  # noqa: E402

BUCKET = "bench-data"
DDL = (
    "CREATE NODE TABLE Company(id INT64, name STRING, score DOUBLE, PRIMARY KEY(id));"
    "CREATE REL TABLE LINKS(FROM Company TO Company, since INT64);"
)
THREADS = 2
BUFFER_POOL_MB = 2048


def make_data(root: Path, nodes: int, rels: int) -> dict[str, list[Path]]:
    files: dict[str, list[Path]] = {"Company": [], "LINKS": []}
    (root / "Company").mkdir(parents=True)
    (root / "LINKS").mkdir(parents=True)
    chunk = 250_000
    for i, start in enumerate(range(0, nodes, chunk)):
        ids = pa.array(range(start, min(nodes, start + chunk)), pa.int64())
        names = pc.binary_join_element_wise("company-", pc.cast(ids, pa.string()), "")
        scores = pc.divide(pc.cast(ids, pa.float64()), 7.0)
        path = root / "Company" / f"part-{i:03d}.parquet"
        pq.write_table(pa.table({"id": ids, "name": names, "score": scores}), path)
        files["Company"].append(path)
    chunk = 500_000
    for i, start in enumerate(range(0, rels, chunk)):
        n = min(rels, start + chunk) - start
        src = pc.cast(pc.floor(pc.multiply(pc.random(n), nodes)), pa.int64())
        dst = pc.cast(pc.floor(pc.multiply(pc.random(n), nodes)), pa.int64())
        since = pa.array(range(start, start + n), pa.int64())
        path = root / "LINKS" / f"part-{i:03d}.parquet"
        pq.write_table(pa.table({"from": src, "to": dst, "since": since}), path)
        files["LINKS"].append(path)
    return files


def kuzu_baseline(data_dir: Path, db_dir: Path) -> dict[str, Any]:
    """Runs in its own process (clean RSS): Kuzu's COPY FROM local Parquet files."""
    import kuzu

    database = kuzu.Database(
        str(db_dir / "graph.kuzu"), buffer_pool_size=BUFFER_POOL_MB << 20, max_num_threads=THREADS
    )
    conn = kuzu.Connection(database)
    for statement in DDL.split(";"):
        if statement.strip():
            conn.execute(statement)
    out: dict[str, Any] = {}
    import os

    with PeakRss(os.getpid()) as rss:
        for table in ("Company", "LINKS"):
            started = time.perf_counter()
            conn.execute(f"COPY {table} FROM '{data_dir / table}/*.parquet'")
            out[table] = time.perf_counter() - started
    out["peak_rss_mb"] = round(rss.peak / 2**20, 1)
    conn.close()
    database.close()
    return out


def run_node_path(base: Path, endpoint: str, counts: dict[str, int], log: Path) -> dict[str, Any]:
    port = free_port()
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "KUZU_THREADS_PER_DB": str(THREADS),
        "KUZU_MEMORY_PER_DB_MB": str(BUFFER_POOL_MB),
        "GRAPH_API_STAGING_THREADS": str(THREADS),
        "GRAPH_API_STAGING_MEMORY_LIMIT": "2GB",
    }
    # The node process: the node's own create_app.
    node = start_process(
        [sys.executable, __file__, "--serve", str(base), str(port)],
        {"GRAPH_API_KEY": API_KEY, "LOG_LEVEL": "WARNING", **env},
        f"http://127.0.0.1:{port}/status/live",
        log,
    )
    out: dict[str, Any] = {}
    try:
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, headers=HEADERS, timeout=3600) as client, PeakRss(node.pid) as rss:
            out["node_baseline_rss_mb"] = round(rss.baseline / 2**20, 1)
            for graph_id in ("bench_staged", "bench_copy"):
                r = client.post(
                    "/databases", json={"graph_id": graph_id, "schema_type": "custom", "custom_ddl": DDL}
                )
                r.raise_for_status()
            for table in ("Company", "LINKS"):
                started = time.perf_counter()
                r = client.post(
                    "/databases/bench_staged/tables",
                    json={"table_name": table, "s3_pattern": f"s3://{BUCKET}/{table}/*.parquet"},
                )
                r.raise_for_status()
                staged_s = time.perf_counter() - started
                started = time.perf_counter()
                r = client.post(f"/databases/bench_staged/tables/{table}/ingest", json={})
                r.raise_for_status()
                assert r.json()["rows_ingested"] == counts[table], r.text
                out[table] = {"stage_s": staged_s, "ingest_s": time.perf_counter() - started}
            out["peak_rss_staged_mb"] = round(rss.peak / 2**20, 1)
            for table in ("Company", "LINKS"):
                started = time.perf_counter()
                r = client.post(
                    "/databases/bench_copy/copy",
                    json={"table_name": table, "s3_pattern": f"s3://{BUCKET}/{table}/*.parquet"},
                )
                r.raise_for_status()
                task_id = r.json()["task_id"]
                while True:
                    status = client.get(f"/tasks/{task_id}/status").json()
                    if status["status"] in ("succeeded", "failed"):
                        break
                    time.sleep(0.05)
                assert status["status"] == "succeeded", status
                assert status["result"]["rows_ingested"] == counts[table], status
                out[table]["copy_s"] = time.perf_counter() - started
            out["peak_rss_mb"] = round(rss.peak / 2**20, 1)
    finally:
        stop_process(node)
    return out


def serve(base_path: Path, port: int) -> None:
    import uvicorn

    from node_api.app import create_app
    from node_api.settings import NodeSettings

    app = create_app(NodeSettings(base_path=base_path, port=port))
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--rels", type=int, default=5_000_000)
    parser.add_argument("--baseline", nargs=2, metavar=("DATA_DIR", "DB_DIR"), help=argparse.SUPPRESS)
    parser.add_argument("--serve", nargs=2, metavar=("BASE_PATH", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), int(args.serve[1]))
        return
    if args.baseline:
        print(json.dumps(kuzu_baseline(Path(args.baseline[0]), Path(args.baseline[1]))))
        return

    counts = {"Company": args.nodes, "LINKS": args.rels}
    work = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    moto = None
    try:
        started = time.perf_counter()
        files = make_data(work / "data", args.nodes, args.rels)
        print(f"data written in {time.perf_counter() - started:.1f}s", flush=True)
        moto_port = free_port()
        endpoint = f"http://127.0.0.1:{moto_port}"
        moto = start_process(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
            {},
            endpoint,
            work / "moto.log",
        )
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=SAFE_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=SAFE_ENV["AWS_SECRET_ACCESS_KEY"],
        )
        s3.create_bucket(Bucket=BUCKET)
        for table, paths in files.items():
            for path in paths:
                s3.upload_file(str(path), BUCKET, f"{table}/{path.name}")

        (work / "kuzu").mkdir()
        baseline_proc = subprocess.run(
            [sys.executable, __file__, "--baseline", str(work / "data"), str(work / "kuzu")],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        )
        baseline = json.loads(baseline_proc.stdout.strip().splitlines()[-1])
        print("kuzu baseline", baseline, flush=True)
        node = run_node_path(work / "node", endpoint, counts, work / "node.log")
        print("node", node, flush=True)
    finally:
        if moto is not None:
            stop_process(moto)
        shutil.rmtree(work, ignore_errors=True)

    results: dict[str, Any] = {"nodes": args.nodes, "rels": args.rels, "threads": THREADS, "tables": {}}
    for table in ("Company", "LINKS"):
        n = counts[table]
        staged_total = node[table]["stage_s"] + node[table]["ingest_s"]
        results["tables"][table] = {
            "rows": n,
            "kuzu_copy_local_rows_per_s": round(n / baseline[table]),
            "staged_rows_per_s": round(n / staged_total),
            "staged_ratio": round(baseline[table] / staged_total, 3),
            "stage_s": round(node[table]["stage_s"], 2),
            "ingest_s": round(node[table]["ingest_s"], 2),
            "ingest_only_ratio": round(baseline[table] / node[table]["ingest_s"], 3),
            "s3_copy_rows_per_s": round(n / node[table]["copy_s"]),
            "s3_copy_ratio": round(baseline[table] / node[table]["copy_s"], 3),
        }
    results["peak_rss_mb"] = {
        "node_idle": node["node_baseline_rss_mb"],
        "node_staged_path": node["peak_rss_staged_mb"],
        "node_overall": node["peak_rss_mb"],
        "kuzu_baseline_process": baseline["peak_rss_mb"],
    }
    out = REPO / "bench" / "results" / "ingest_s3.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
