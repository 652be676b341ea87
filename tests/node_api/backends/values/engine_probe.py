"""Runs the Kuzu cases of tests/node_api/backends/values/cases.py on one embedded engine, in its own process (kuzu and
ladybug cannot share one): `python -m tests.node_api.backends.values.engine_probe <kuzu|ladybug> <directory>`.

Prints one JSON object: the engine's own list of logical type ids, and per case the column type id,
the wire value (row_encoder + jsonenc.dumps, read back by a plain JSON parser) and the answer of the
round trip (the wire value decoded by core/parameters.py, adapted by embedded_parameters, sent back).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa

from node_api.backends.embedded.parameters import embedded_parameters
from node_api.backends.errors import BackendError
from node_api.backends.values import (
    arrow_rows,
    needs_arrow,
    parse_type,
    row_encoder,
    table_property_types,
)
from node_api.core.jsonenc import dumps
from node_api.core.parameters import decode_parameters
from node_api.errors import ApiError
from tests.node_api.backends.values.cases import CLOCK_NS, KUZU_CASES, KUZU_DDL, KUZU_SEED


def engine_types(engine: Any, name: str) -> list[str]:
    names = {t.value for t in engine.Type}
    if name == "ladybug":
        # The C API binding's table of type ids also lists DECIMAL, which the Python enum leaves out. It
        # is read from the module's source: importing it needs the C library, which the wheel lacks.
        spec = importlib.util.find_spec("ladybug._lbug_capi")
        assert spec is not None and spec.origin is not None
        tree = ast.parse(Path(spec.origin).read_text())
        table = next(node.value for node in ast.walk(tree) if isinstance(node, ast.AnnAssign)
                     and isinstance(node.target, ast.Name) and node.target.id == "_TYPE_ID_TO_NAME")
        assert isinstance(table, ast.Dict)
        names |= {v.value for v in table.values if isinstance(v, ast.Constant)}
    return sorted(names)


def main(name: str, directory: Path) -> dict[str, Any]:
    engine = importlib.import_module(name)
    database = engine.Database(str(directory / "graph"))
    conn = engine.Connection(database)

    def rows(query: str, parameters: dict[str, Any] | None = None) -> tuple[list[str], list[list[Any]]]:
        result = conn.execute(query, parameters or {})
        types = result.get_column_data_types()
        raw = arrow_rows(result.get_as_arrow(-1)) if needs_arrow(types) else result.get_all()
        result.close()
        return types, raw

    for statement in KUZU_DDL.split("; "):
        conn.execute(statement)
    for statement in KUZU_SEED:
        conn.execute(statement)
    clock = pa.table({"id": pa.array([1], pa.int64()), "ns": pa.array([CLOCK_NS], pa.timestamp("ns"))})
    conn.execute("COPY Clock FROM $data", {"data": clock})

    report: dict[str, Any] = {"types": engine_types(engine, name), "cases": {}}
    for case in KUZU_CASES:
        types, raw = rows(case.cypher)
        encode = row_encoder(types, lambda label: table_property_types(lambda q: rows(q)[1], label))
        wire = json.loads(dumps([encode(r) if encode else r for r in raw]))[0][0]
        entry: dict[str, Any] = {"type": parse_type(types[0]).name, "wire": wire}
        try:
            parameters = embedded_parameters(decode_parameters({"v": wire}), name)
            entry["back"] = rows(case.back_cypher or "RETURN $v AS ok", parameters)[1]
        except ApiError as exc:
            entry["back"] = {"status": exc.status, "code": exc.code}
        except BackendError as exc:
            entry["back"] = {"status": 400, "code": exc.code}
        except RuntimeError as exc:  # the engine refused the query: the node answers 400
            entry["back"] = {"status": 400, "code": "engine", "message": str(exc)[:200]}
        report["cases"][case.name] = entry
    conn.close()
    database.close()
    return report


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], Path(sys.argv[2]))))
