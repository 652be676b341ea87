"""What reading every file's footer and unifying the schemas costs a stage, side by side in one run.

For each shape (one large file, many small ones), the same reader (node_api/core/staging/sources.py)
reads the same S3 files two ways, alternating, three rounds:

- plain: `read_parquet('<glob>')` into Arrow (what staging did before: it lost columns of drifting files);
- unified: files.resolve (glob, footers, per-group DESCRIBE) + SourceFiles.select into Arrow.

S3 is moto's ThreadedMotoServer on 127.0.0.1, so request latency is a loopback's: on real S3 each of
the extra requests costs more (the request counts are printed for that reason). Writes
bench/results/staging_unify.json. On demand only:

    .venv/bin/python bench/staging_unify.py
"""

from __future__ import annotations

import io
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.pop("AWS_SESSION_TOKEN", None)

import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.support.aws: the moto server the test suite uses
BUCKET = "bench-unify"
SHAPES = {
    "1 file x 500k rows": (1, 500_000),
    "50 files x 10k rows": (50, 10_000),
    "200 files x 2.5k rows": (200, 2_500),
}
ROUNDS = 3


class _Requests(logging.Handler):
    """Counts the requests moto's server logs (one werkzeug line each)."""

    count = 0

    def emit(self, record: logging.LogRecord) -> None:
        _Requests.count += 1


def _table(start: int, rows: int) -> pa.Table:
    ids = pa.array(range(start, start + rows), pa.int64())
    return pa.table({"id": ids, "name": pc.cast(ids, pa.string()), "score": pc.cast(ids, pa.float64())})


def main() -> None:
    from node_api.core.staging.files import resolve
    from node_api.core.staging.settings import StagingSettings
    from node_api.core.staging.sources import open_reader, parse_source
    from tests.support.aws import moto_server, s3_client

    logging.getLogger("werkzeug").addHandler(_Requests())
    logging.getLogger("werkzeug").setLevel(logging.INFO)
    results: dict[str, dict[str, float]] = {}
    with moto_server() as endpoint:
        s3 = s3_client(endpoint)
        s3.create_bucket(Bucket=BUCKET)
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        settings = StagingSettings()
        for label, (files, rows) in SHAPES.items():
            prefix = label.split()[0] + "files"
            for i in range(files):
                buffer = io.BytesIO()
                pq.write_table(_table(i * rows, rows), buffer)
                s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{i:04d}.parquet", Body=buffer.getvalue())
            source = parse_source(f"s3://{BUCKET}/{prefix}/*.parquet", settings, own_credentials=True)
            timings: dict[str, list[float]] = {"plain": [], "unified": []}
            requests: dict[str, int] = {}
            for _ in range(ROUNDS):
                for way in ("plain", "unified"):
                    reader = open_reader(source, settings, duckdb_to_duckdb=True)
                    _Requests.count = 0
                    started = time.perf_counter()
                    if way == "plain":
                        table = reader.execute(
                            "SELECT * FROM read_parquet(?)", [source.pattern]
                        ).to_arrow_table()
                    else:
                        sql, params = resolve(reader, source).select()
                        table = reader.execute(sql, params).to_arrow_table()
                    timings[way].append(time.perf_counter() - started)
                    requests[way] = _Requests.count
                    reader.close()
                    assert table.num_rows == files * rows
            plain, unified = statistics.median(timings["plain"]), statistics.median(timings["unified"])
            results[label] = {
                "plain_s": round(plain, 3),
                "unified_s": round(unified, 3),
                "throughput_ratio": round(plain / unified, 2),
                "plain_requests": requests["plain"],
                "unified_requests": requests["unified"],
            }
            print(label, json.dumps(results[label]))
    out = REPO / "bench" / "results" / "staging_unify.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
