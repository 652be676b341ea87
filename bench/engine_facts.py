"""Re-measures the engine facts of docs/engine-facts.md, each engine in processes of its own (kuzu and
ladybug cannot share one; several facts end the process).

    .venv/bin/python bench/engine_facts.py [--engines kuzu ladybug] [--only NAME ...]

Prints one JSON object per fact and engine; writes bench/results/engine_facts.json. Each probe is
bounded: a process past 3 GB resident or 60 s is stopped and the fact says so.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_result  # noqa: E402

CAP_BYTES = 3 << 30
PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[1]) * PAGE


class Peak:
    """Peak RSS growth of this process; exits it (status 9) past CAP_BYTES."""

    def __init__(self) -> None:
        self.base = self.peak = _rss()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            self.peak = max(self.peak, _rss())
            if self.peak > CAP_BYTES:
                print(json.dumps({"stopped": f"past {CAP_BYTES >> 20} MB resident"}), flush=True)
                os._exit(9)
            time.sleep(0.01)

    def reset(self) -> None:
        self.base = self.peak = _rss()

    @property
    def growth_mb(self) -> int:
        return (self.peak - self.base) >> 20


def _db(engine: Any, directory: str, name: str = "x", **kw: Any) -> Any:
    options = {"buffer_pool_size": 256 << 20, "max_db_size": 1 << 30, "max_num_threads": 2, **kw}
    return engine.Database(os.path.join(directory, name), **options)


def _run(conn: Any, statement: str) -> Any:
    result = conn.execute(statement)
    return result.get_all()


# ---- probes: each runs in a fresh process, gets (engine module, scratch dir), returns a dict

def address_space(engine: Any, d: str) -> dict:
    opened, keep = 0, []
    try:
        for i in range(40):
            keep.append(engine.Database(os.path.join(d, f"g{i}")))
            opened += 1
    except RuntimeError as exc:
        failure = str(exc)
    else:
        failure = None
    try:
        engine.Database(os.path.join(d, "npot"), max_db_size=3 << 30)
        power_of_two = "not required"
    except RuntimeError as exc:
        power_of_two = str(exc)
    return {"databases_opened_with_default_max_db_size": opened, "failure": failure, "max_db_size_3GiB": power_of_two}


def query_memory(engine: Any, d: str) -> dict:
    conn = engine.Connection(_db(engine, d))
    peak = Peak()
    out = {}
    for name, statement in (
        ("stream_5M_rows", "UNWIND range(1, 5000000) AS i RETURN i, 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'"),
        ("collect_10M", "UNWIND range(1, 10000000) AS i RETURN size(collect(i))"),
        ("range_list_100M", "RETURN size(range(1, 100000000))"),
    ):
        peak.reset()
        started = time.perf_counter()
        try:
            result = conn.execute(statement)
            while result.has_next():
                result.get_n(10000)
            outcome = "ok"
        except RuntimeError as exc:
            outcome = str(exc)[:120]
        out[name] = {"outcome": outcome, "peak_growth_mb": peak.growth_mb, "buffer_pool_mb": 256,
                     "seconds": round(time.perf_counter() - started, 2)}
    return out


def interrupt_latency(engine: Any, d: str) -> dict:
    conn = engine.Connection(_db(engine, d))
    out = {}
    Peak()  # Kuzu's range() rows cost ~420 bytes each: the 30M case stops at the cap there
    for name, statement in (("range_3M_count", "UNWIND range(1, 3000000) AS i RETURN count(i)"),
                            ("nested_unwind_1.6e9", "UNWIND range(1, 40000) AS x UNWIND range(1, 40000) AS y "
                                                     "RETURN sum(x * y)"),
                            ("range_30M_count", "UNWIND range(1, 30000000) AS i RETURN count(i)")):
        conn.set_query_timeout(200)
        started = time.perf_counter()
        try:
            _run(conn, statement)
            outcome = "finished"
        except RuntimeError as exc:
            outcome = str(exc)
        out[name] = {"timeout_ms": 200, "outcome": outcome, "seconds": round(time.perf_counter() - started, 2)}
        conn.set_query_timeout(0)
        out[name]["connection_after"] = _run(conn, "RETURN 1")
        print(json.dumps(out), flush=True)  # what was measured before a cap stops the process
    return out


def write_transactions(engine: Any, d: str) -> dict:
    db = _db(engine, d)
    a, b = engine.Connection(db), engine.Connection(db)
    _run(a, "CREATE NODE TABLE A(id INT64, PRIMARY KEY(id))")
    _run(a, "BEGIN TRANSACTION")
    _run(a, "CREATE (:A {id: 1})")
    started = time.perf_counter()
    try:
        _run(b, "CREATE (:A {id: 2})")
        second = "succeeded"
    except RuntimeError as exc:
        second = str(exc)
    waited = round(time.perf_counter() - started, 3)
    read = _run(b, "MATCH (n:A) RETURN count(n)")
    _run(a, "COMMIT")
    return {"second_writer": second, "second_writer_seconds": waited, "read_during_write": read}


def failed_begin(engine: Any, d: str) -> dict:
    """Ends the process with SIGSEGV on both engines (measured): the parent reports the signal."""
    db = _db(engine, d)
    a, b = engine.Connection(db), engine.Connection(db)
    _run(a, "CREATE NODE TABLE A(id INT64, PRIMARY KEY(id))")
    _run(a, "BEGIN TRANSACTION")
    _run(a, "CREATE (:A {id: 1})")
    try:
        _run(b, "BEGIN TRANSACTION")
    except RuntimeError:
        pass
    _run(a, "COMMIT")
    return {"next_query_after_failed_begin": _run(b, "MATCH (n:A) RETURN count(n)")}


def errors_and_reuse(engine: Any, d: str) -> dict:
    conn = engine.Connection(_db(engine, d, buffer_pool_size=64 << 20))
    out = {}
    for name, statement in (("binder", "MATCH (n:Nope) RETURN n"),
                            ("buffer_pool_full", "UNWIND range(1, 30000000) AS i RETURN size(collect(i))")):
        try:
            _run(conn, statement)
            out[name] = "no error"
        except RuntimeError as exc:
            out[name] = str(exc)[:100]
        out[name + "_then"] = _run(conn, "RETURN 1")
    return out


def merge_default(engine: Any, d: str) -> dict:
    conn = engine.Connection(_db(engine, d))
    _run(conn, "CREATE NODE TABLE A(id STRING DEFAULT gen_random_uuid(), stuff INT8, PRIMARY KEY (id))")
    ids = _run(conn, "UNWIND [1, 1, 1] AS i MERGE (a:A {stuff: i}) RETURN a.id")
    return {"distinct_ids_returned": len({r[0] for r in ids}), "stored": _run(conn, "MATCH (a:A) RETURN count(*)")}


def path_label(engine: Any, d: str) -> dict:
    conn = engine.Connection(_db(engine, d))
    for statement in ("CREATE NODE TABLE U(id INT64, PRIMARY KEY(id))", "CREATE NODE TABLE C(id INT64, PRIMARY KEY(id))",
                      "CREATE REL TABLE L(FROM U TO C)", "CREATE (:U {id: 1})-[:L]->(:C {id: 2})"):
        _run(conn, statement)
    return {"result": _run(conn, "MATCH p = (n)-[:L]->(m:C) RETURN label(nodes(p)[1])")}


def parquet_writer(engine: Any, d: str) -> dict:
    conn = engine.Connection(_db(engine, d))
    out = {}
    for name, column_type, value in (("INT128", "INT128", "CAST('170141183460469231731687303715884105727' AS INT128)"),
                                     ("DECIMAL", "DECIMAL(18, 3)", "CAST('1.5' AS DECIMAL(18, 3))"),
                                     ("INTERVAL", "INTERVAL", "interval('3 days 5 microseconds')")):
        _run(conn, f"CREATE NODE TABLE T{name}(id INT64, v {column_type}, PRIMARY KEY(id))")
        _run(conn, f"CREATE (:T{name} {{id: 1, v: {value}}})")
        target = os.path.join(d, f"{name}.parquet")
        try:
            _run(conn, f"COPY (MATCH (n:T{name}) RETURN n.v) TO '{target}'")
            out[name] = str(_run(conn, f"LOAD FROM '{target}' RETURN *")[0][0])
        except RuntimeError as exc:
            out[name] = str(exc)[:100]
    _run(conn, "CREATE NODE TABLE S(id INT64, st STRUCT(x INT64), PRIMARY KEY(id))")
    _run(conn, "UNWIND range(1, 4) AS i CREATE (:S {id: i, st: CASE WHEN i = 2 THEN NULL ELSE {x: i} END})")
    target = os.path.join(d, "s.parquet")
    _run(conn, f"COPY (MATCH (s:S) RETURN s.id, s.st ORDER BY s.id) TO '{target}'")
    out["STRUCT after a NULL"] = str(_run(conn, f"LOAD FROM '{target}' RETURN *"))
    return out


def schema_export(engine: Any, d: str) -> dict:
    conn = engine.Connection(_db(engine, d))
    for statement in ("CREATE NODE TABLE P(id INT64, s STRING DEFAULT 'x', PRIMARY KEY(id))",
                      "CREATE NODE TABLE Q(id INT64, PRIMARY KEY(id))",
                      "CREATE REL TABLE R(FROM P TO Q, MANY_ONE)", "CREATE REL TABLE G(FROM P TO P, FROM P TO Q)"):
        _run(conn, statement)
    target = os.path.join(d, "export")
    try:
        _run(conn, f"EXPORT DATABASE '{target}' (SCHEMA_ONLY=true)")
        text = Path(target, "schema.cypher").read_text()
        out: dict[str, Any] = {"exported": True, "keeps_default": "DEFAULT" in text, "text": text[:400]}
    except RuntimeError as exc:
        out = {"exported": False, "error": str(exc)[:160]}
    out["show_indexes"] = _run(conn, "CALL show_indexes() RETURN count(*)")[0][0]
    return out


def import_one_thread(engine: Any, d: str) -> dict:
    conn = engine.Connection(_db(engine, d))
    _run(conn, "CREATE NODE TABLE P(id INT64, PRIMARY KEY(id))")
    _run(conn, "CREATE (:P {id: 1})")
    target = os.path.join(d, "export")
    _run(conn, f"EXPORT DATABASE '{target}' (format='parquet')" if engine.__name__ == "kuzu"
         else f"EXPORT DATABASE '{target}'")
    other = engine.Connection(_db(engine, d, "y", max_num_threads=1))
    started = time.perf_counter()
    _run(other, f"IMPORT DATABASE '{target}'")
    return {"imported_with_one_thread_seconds": round(time.perf_counter() - started, 2)}


def extension_message(engine: Any, d: str) -> dict:
    conn = engine.Connection(_db(engine, d))
    out = {"loaded": _run(conn, "CALL show_loaded_extensions() RETURN *")}
    try:
        out["stem"] = _run(conn, "RETURN stem('running', 'porter')")
    except RuntimeError as exc:
        out["stem"] = str(exc)[:200]
    return out


def database_heap(engine: Any, d: str) -> dict:
    before = _rss()
    keep = []
    for i in range(20):
        db = _db(engine, d, f"h{i}", buffer_pool_size=64 << 20)
        conn = engine.Connection(db)
        _run(conn, "RETURN 1")
        keep.append((db, conn))
    return {"mb_per_open_database": round((_rss() - before) / 2**20 / 20, 2)}


PROBES = {f.__name__: f for f in (address_space, query_memory, interrupt_latency, write_transactions, failed_begin,
                                  errors_and_reuse, merge_default, path_label, parquet_writer, schema_export,
                                  import_one_thread, extension_message, database_heap)}


def child(engine_name: str, probe: str) -> None:
    engine = importlib.import_module(engine_name)
    with tempfile.TemporaryDirectory() as d:
        print(json.dumps(PROBES[probe](engine, d), default=str), flush=True)
    os._exit(0)


def run(engine: str, probe: str) -> dict:
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, __file__, "--child", engine, probe], capture_output=True,
                              text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return {"stopped": "did not finish in 60 s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    out: dict[str, Any] = {}
    for line in lines:  # partial results first, then the whole (or why the process stopped)
        out.update(json.loads(line))
    if done.returncode < 0:
        out["process"] = f"killed by signal {-done.returncode}"
    elif done.returncode:
        out["process"] = f"exit status {done.returncode}: {done.stderr.strip().splitlines()[-1:] }"
    out["wall_seconds"] = round(time.perf_counter() - started, 2)
    return out


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engines", nargs="+", default=["kuzu", "ladybug"])
    parser.add_argument("--only", nargs="+", choices=sorted(PROBES), default=sorted(PROBES))
    args = parser.parse_args()
    facts: dict[str, dict[str, Any]] = {}
    for probe in args.only:
        facts[probe] = {engine: run(engine, probe) for engine in args.engines}
        print(json.dumps({probe: facts[probe]}, default=str), flush=True)
    shutil.rmtree(Path(tempfile.gettempdir()) / "engine-facts", ignore_errors=True)
    write_result("engine_facts", facts)


if __name__ == "__main__":
    main()
