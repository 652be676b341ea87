"""The tutorial's data set (docs/tutorial.md): a small social network, written as Parquet.

    .venv/bin/python examples/tutorial/data.py DIRECTORY

writes DIRECTORY/people.parquet (Person: id INT64, name STRING, born INT64, city STRING; 500 rows)
and DIRECTORY/knows.parquet (KNOWS: from INT64, to INT64, since INT64; 1,500 rows, no self-loops,
no pair twice), about 16 KB together. The people are made up: names drawn from the lists below with
a fixed seed, so every run writes the same rows and the tutorial's answers never change.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

PEOPLE = 500
FRIENDSHIPS = 1500
SEED = 18

FIRST = ["Ada", "Alan", "Barbara", "Claude", "Donald", "Edsger", "Frances", "Grace", "Hedy", "Ivan",
         "John", "Katherine", "Leslie", "Margaret", "Niklaus", "Radia", "Shafi", "Tim", "Vint", "Whitfield"]
LAST = ["Allen", "Backus", "Codd", "Dijkstra", "Engelbart", "Floyd", "Gray", "Hopper", "Iverson", "Kay",
        "Knuth", "Lamport", "Liskov", "McCarthy", "Perlman", "Ritchie", "Stonebraker", "Thompson", "Wirth"]
CITIES = ["Amsterdam", "Berlin", "Lisbon", "Nairobi", "Osaka", "Oslo", "Santiago", "Toronto"]


def tables(seed: int = SEED) -> tuple[pa.Table, pa.Table]:
    """(people, knows), the same for the same seed."""
    rng = random.Random(seed)
    people = pa.table({
        "id": pa.array(range(1, PEOPLE + 1), pa.int64()),
        "name": [f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(PEOPLE)],
        "born": pa.array([rng.randint(1950, 2005) for _ in range(PEOPLE)], pa.int64()),
        "city": [rng.choice(CITIES) for _ in range(PEOPLE)],
    })
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < FRIENDSHIPS:
        a, b = rng.randint(1, PEOPLE), rng.randint(1, PEOPLE)
        if a != b:
            pairs.add((a, b))
    ordered = sorted(pairs)
    knows = pa.table({
        "from": pa.array([a for a, _ in ordered], pa.int64()),
        "to": pa.array([b for _, b in ordered], pa.int64()),
        "since": pa.array([rng.randint(2000, 2024) for _ in ordered], pa.int64()),
    })
    return people, knows


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    directory = Path(argv[0])
    directory.mkdir(parents=True, exist_ok=True)
    people, knows = tables()
    for name, table in (("people", people), ("knows", knows)):
        path = directory / f"{name}.parquet"
        pq.write_table(table, path)
        print(f"{path}: {table.num_rows} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
