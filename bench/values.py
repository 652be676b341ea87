"""Result encoding cost: rows/s of fetch + the node's wire encoding (backends/values.row_encoder, then
core/jsonenc.dumps) beside fetch + plain orjson of the engine's own Python values, in the same run,
per kind of column. The plain path is the limit (it writes what orjson knows and nothing typed).

    .venv/bin/python bench/values.py [--rows 200000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import kuzu
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_result  # noqa: E402

from node_api.backends.values import row_encoder, table_property_types  # noqa: E402
from node_api.core.jsonenc import dumps  # noqa: E402

CHUNK = 1000
QUERIES = {
    "integers and strings": "MATCH (n:Item) RETURN n.id, n.name",
    "big integers (10% past 2**53)": "MATCH (n:Item) RETURN CASE WHEN n.id % 10 = 0 THEN n.id + 9007199254740992 "
                                     "ELSE n.id END",
    "doubles": "MATCH (n:Item) RETURN n.score, n.score * 2",
    "dates and timestamps": "MATCH (n:Item) RETURN n.day, n.at",
    "nodes": "MATCH (n:Item) RETURN n",
}


def build(path: Path, rows: int) -> None:
    database = kuzu.Database(str(path))
    conn = kuzu.Connection(database)
    conn.execute("CREATE NODE TABLE Item(id INT64, name STRING, score DOUBLE, day DATE, at TIMESTAMP, PRIMARY KEY(id))")
    conn.execute(f"UNWIND range(1, {rows}) AS i CREATE (:Item {{id: i, name: 'item ' + cast(i AS STRING), "
                 "score: i / 3.0, day: date('2024-01-01') + i % 3000, at: timestamp('2024-01-01 10:00:00')})")
    conn.close()
    database.close()


def run(conn: kuzu.Connection, query: str, encode_rows: bool) -> float:
    started = time.perf_counter()
    result = conn.execute(query)
    encode = None
    if encode_rows:
        def rows_of(q: str) -> list[list]:
            return conn.execute(q).get_all()

        encode = row_encoder(result.get_column_data_types(), lambda label: table_property_types(rows_of, label))
    seen = 0
    while result.has_next():
        batch = result.get_n(CHUNK)
        if encode_rows:
            dumps([encode(r) for r in batch] if encode else batch)
        else:
            orjson.dumps(batch, default=str, option=orjson.OPT_NON_STR_KEYS)
        seen += len(batch)
    return seen / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.kuzu"
        build(path, args.rows)
        database = kuzu.Database(str(path), read_only=True)
        conn = kuzu.Connection(database)
        summary = {"rows": args.rows, "rounds": args.rounds, "results": {}}
        for name, query in QUERIES.items():
            node, plain = [], []
            for _ in range(args.rounds):  # alternated, so both see the same machine
                plain.append(run(conn, query, encode_rows=False))
                node.append(run(conn, query, encode_rows=True))
            summary["results"][name] = {
                "wire rows/s": round(statistics.median(node)), "plain rows/s": round(statistics.median(plain)),
                "ratio": round(statistics.median(node) / statistics.median(plain), 2)}
        conn.close()
        database.close()
    write_result("values", summary)


if __name__ == "__main__":
    main()
