"""Runs statements on one embedded engine in its own process and prints what the engine said, as JSON.

    python tests/node_api/security/policy/engine_probe.py kuzu|ladybug DB_DIR < request.json

request: {"setup": [statement, ...], "run": [statement, ...]}; every statement runs on one connection,
so a projected graph made in setup is visible to the statements after it.
answer:  {"version": str, "catalog": [[name, type], ...] (read before setup),
          "results": [{"rows": [...]} | {"error": str}]}

Kuzu 0.11.3 and LadybugDB 0.22.0 cannot be imported in one process (pybind type clash, then segfault),
and a statement that crashes the engine must not take the test runner with it: hence a process.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any


def _rows(result: Any) -> list[list[Any]]:
    rows = []
    while result.has_next():
        rows.append(result.get_next())
    return rows


def main() -> None:
    engine, db_dir = sys.argv[1], sys.argv[2]
    module = importlib.import_module(engine)
    request = json.load(sys.stdin)
    db = module.Database(db_dir)
    conn = module.Connection(db)
    # Before setup: on Kuzu 0.11.3 show_functions() segfaults once an FTS index exists.
    catalog = [row[:2] for row in _rows(conn.execute("CALL show_functions() RETURN name, type"))]
    for statement in request.get("setup", []):
        _rows(conn.execute(statement))
    results: list[dict[str, Any]] = []
    for statement in request.get("run", []):
        try:
            results.append({"rows": _rows(conn.execute(statement))})
        except Exception as exc:  # noqa: BLE001 - the engine's error is the answer
            results.append({"error": f"{type(exc).__name__}: {exc}"})
    json.dump({"version": module.__version__, "catalog": catalog, "results": results}, sys.stdout, default=str)


if __name__ == "__main__":
    main()
