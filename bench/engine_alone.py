"""The engines alone, in a process of their own (kuzu and ladybug cannot share one): the limits the
node's benchmarks compare against.

    python bench/engine_alone.py ENGINE stream DB_FILE ROWS CHUNK      -> rows/s streaming a query
    python bench/engine_alone.py ENGINE open-idle BUFFER_MB DB_FILE... -> MB of RSS per open database
    python bench/engine_alone.py ENGINE lookups DB_FILE NODES SECONDS  -> point lookups/s, parameter
                                                                          (WHERE, {id: $id}) and literal
    python bench/engine_alone.py ENGINE load DB_FILE NODES RELS        -> COPY Person nodes (and Knows
                                                                          rels) from Arrow: rows/s

Each prints one JSON object on stdout.
"""

from __future__ import annotations

import importlib
import json
import random
import sys
import time

import orjson
import psutil

STREAM_QUERY = "UNWIND range(1, $n) AS i RETURN i, 'row-' + cast(i AS STRING) AS name, cast(i AS DOUBLE) / 2.0 AS half"


def open_database(engine, path: str, buffer_mb: int = 512):  # noqa: ANN001, ANN201 - either engine module
    return engine.Database(path, buffer_pool_size=buffer_mb << 20, max_num_threads=2, max_db_size=64 << 30)


def stream(engine, db_file: str, rows: int, chunk: int) -> dict:  # noqa: ANN001
    database = open_database(engine, db_file)
    conn = engine.Connection(database)
    started = time.perf_counter()
    result = conn.execute(STREAM_QUERY, {"n": rows})
    seen = 0
    while result.has_next():
        batch = result.get_n(chunk)
        orjson.dumps(batch)  # the limit includes encoding, which any server must do
        seen += len(batch)
    elapsed = time.perf_counter() - started
    assert seen == rows
    return {"rows_per_s": rows / elapsed, "peak_rss_mb": psutil.Process().memory_info().rss / 2**20}


def open_idle(engine, buffer_mb: int, files: list[str]) -> dict:  # noqa: ANN001
    proc = psutil.Process()
    before = proc.memory_info().rss
    keep = []
    for path in files:
        database = open_database(engine, path, buffer_mb)
        conn = engine.Connection(database)
        conn.execute("MATCH (p:Person) RETURN count(p)").get_all()
        keep.append((database, conn))
    return {"mb_per_database": (proc.memory_info().rss - before) / 2**20 / len(files),
            "process_baseline_mb": before / 2**20}


def lookups(engine, db_file: str, nodes: int, seconds: float) -> dict:  # noqa: ANN001
    conn = engine.Connection(open_database(engine, db_file, 1024))
    rng = random.Random(7)
    out = {}
    for name, make in (("parameter", lambda i: ("MATCH (p:Person) WHERE p.id = $id RETURN p.name", {"id": i})),
                       ("parameter_in_pattern", lambda i: ("MATCH (p:Person {id: $id}) RETURN p.name", {"id": i})),
                       ("literal", lambda i: (f"MATCH (p:Person) WHERE p.id = {i} RETURN p.name", {}))):
        done = 0
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()
        while time.perf_counter() < deadline:
            query, params = make(rng.randrange(nodes))
            result = conn.execute(query, params)
            assert len(result.get_all()) == 1
            done += 1
        out[f"{name}_lookups_per_s"] = done / (time.perf_counter() - started)
    return out


def load(engine, db_file: str, nodes: int, rels: int) -> dict:  # noqa: ANN001
    """Bulk load into an existing database with the benchmarks' schema (Person, Knows)."""
    import pyarrow as pa

    conn = engine.Connection(open_database(engine, db_file, 2048))
    people = pa.table({"id": pa.array(range(nodes), pa.int64()),
                       "name": pa.array([f"person-{i}" for i in range(nodes)]),
                       "age": pa.array([i % 90 for i in range(nodes)], pa.int64())})
    out = {}
    started = time.perf_counter()
    conn.execute("COPY Person FROM $t", {"t": people})
    out["nodes_per_s"] = nodes / (time.perf_counter() - started)
    if rels:
        rng = random.Random(11)
        knows = pa.table({"from": pa.array([rng.randrange(nodes) for _ in range(rels)], pa.int64()),
                          "to": pa.array([rng.randrange(nodes) for _ in range(rels)], pa.int64())})
        started = time.perf_counter()
        conn.execute("COPY Knows FROM $t", {"t": knows})
        out["rels_per_s"] = rels / (time.perf_counter() - started)
    return out


def main() -> None:
    engine = importlib.import_module(sys.argv[1])
    command, args = sys.argv[2], sys.argv[3:]
    if command == "stream":
        out = stream(engine, args[0], int(args[1]), int(args[2]))
    elif command == "open-idle":
        out = open_idle(engine, int(args[0]), args[1:])
    elif command == "load":
        out = load(engine, args[0], int(args[1]), int(args[2]))
    elif command == "lookups":
        out = lookups(engine, args[0], int(args[1]), float(args[2]))
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
