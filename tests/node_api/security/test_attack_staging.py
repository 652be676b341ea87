"""Red-team regressions: a tenant's staging SQL (DuckDB in the HTTP process) and what it reveals.

Found 2026-11-30 against main e77b004 (DuckDB 1.5.5): with enable_external_access=false DuckDB still
answers its catalog functions, and they name the node's files: `duckdb_databases()` gives the staging
file's absolute path (the node's base path and the graph's directory), `duckdb_settings()` the
allowed paths, the temporary directory and the secret directory (the service user's home); refused
functions name the home directory in their error ("Cannot access directory
\"/root/.duckdb/extensions/...\""). And a value JSON cannot hold (HUGEINT past 64 bits) is a 500.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.node import PERSON_DDL, create_db, make_settings, node_client

HOME = os.path.expanduser("~")  # DuckDB's default secret and extension directories live under it


async def test_attack_staging_sql_does_not_reveal_the_nodes_paths(tmp_path: Path) -> None:
    base = tmp_path / "dbs"
    async with node_client(make_settings(base)) as client:
        await create_db(client, "attacker", ddl=PERSON_DDL)
        for sql in ("SELECT path FROM duckdb_databases()",
                    "SELECT name, value FROM duckdb_settings()",
                    "SELECT * FROM duckdb_extensions()"):
            response = await client.post("/databases/attacker/tables/query", json={"sql": sql})
            assert str(base.resolve()) not in response.text, (sql, response.text[:300])
            assert f"{HOME}/" not in response.text, (sql, response.text[:300])


async def test_attack_staging_values_json_cannot_hold_are_not_a_server_error(tmp_path: Path) -> None:
    async with node_client(make_settings(tmp_path / "dbs")) as client:
        await create_db(client, "attacker", ddl=PERSON_DDL)
        try:
            response = await client.post("/databases/attacker/tables/query",
                                         json={"sql": "SELECT 170141183460469231731687303715884105727::HUGEINT AS h"})
        except TypeError as exc:  # in process, the app's unhandled error reaches the client: a 500 over HTTP
            raise AssertionError(f"unhandled error answered 500: {exc}") from None
        assert response.status_code < 500, response.text
