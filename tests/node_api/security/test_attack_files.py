"""Red-team regressions: a tenant's Cypher reading files that are not its own.

Three faults line up today (found 2026-11-30 against main e77b004, Kuzu 0.11.3 and LadybugDB 0.22.0):

1. Kuzu's lexer takes currency symbols inside identifiers (`x$` is one name), the policy's tokenizer
   does not: it sees `x`, `$`, `LOAD` and takes LOAD for a parameter's name, not a keyword. So
   `UNWIND [1] AS x$ LOAD FROM '<file>' ... RETURN *` passes the token phase.
2. The plan phase runs `EXPLAIN`, and the engine's binder opens and sniffs a LOAD FROM file while
   binding: the file is read before the node judges the plan, and a sniffing error quotes the line
   ("Line/record containing the error: '...'") in the response body.
3. The worker's Landlock ruleset grants read access to "/": workers start with cwd "/" and
   `python -m`, so sys.path[0] is "/" and sandbox.code_paths() returns it. A worker reads other
   tenants' graphs, /etc/passwd and the node process's /proc/<pid>/environ (its secrets).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from node_api.backends.embedded.backend import EmbeddedBackend
from node_api.backends.errors import QueryForbidden
from node_api.security.policy import KUZU, LADYBUG
from tests.support.node import PERSON_DDL, create_db, make_settings, node_client
from tests.support.worker import run_in_worker

SECRET = "NEIGHBOUR-SECRET-4f1c"
HIDDEN_LOAD = "UNWIND [1] AS x$ LOAD FROM '{path}' (file_format='csv', header=true) RETURN *"


@pytest.mark.parametrize("policy", [KUZU, LADYBUG], ids=lambda p: p.engine)
@pytest.mark.parametrize("statement", [
    "UNWIND [1] AS x$ LOAD FROM 'f.csv' RETURN *",
    "MATCH (n) WITH n AS n$ LOAD FROM 'f.csv' RETURN *",
    "UNWIND [1] AS x$$ LOAD FROM 'f.csv' RETURN *",
])
def test_attack_a_keyword_after_an_identifier_ending_in_a_dollar_sign_is_still_refused(policy, statement) -> None:
    # Kuzu's grammar: IdentifierPart includes Unicode Sc (currency symbols), so `x$` is one identifier
    # and the LOAD after it is the LOAD FROM clause.
    with pytest.raises(QueryForbidden):
        policy.check(statement)


@pytest.mark.parametrize("engine", ["kuzu", "ladybug"])
async def test_attack_a_tenant_cannot_read_a_neighbours_file_through_a_hidden_load_from(tmp_path: Path,
                                                                                         engine: str) -> None:
    async with node_client(make_settings(tmp_path / "dbs", backend_type=engine)) as client:
        await create_db(client, "attacker", ddl=PERSON_DDL)
        await create_db(client, "victim", ddl=PERSON_DDL)
        backend: EmbeddedBackend = client.app.state.node.backend
        private = backend.catalog.graph_dir("victim") / "private.csv"
        private.write_text(f"h\n{SECRET},more\n")  # the second row has more values: the sniffer quotes it

        response = await client.post("/databases/attacker/query",
                                     json={"cypher": HIDDEN_LOAD.format(path=private)})
        assert SECRET not in response.text
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden_statement"


async def test_attack_a_worker_cannot_read_the_node_process_environment(tmp_path: Path) -> None:
    async with node_client(make_settings(tmp_path / "dbs")) as client:
        await create_db(client, "attacker", ddl=PERSON_DDL)
        backend: EmbeddedBackend = client.app.state.node.backend
        assert await run_in_worker(backend, "attacker", "RETURN 1") == "ok"
        worker = next(w for w in backend.supervisor.workers() if w.label == "attacker")
        if worker.sandbox == "unavailable":
            pytest.skip("this kernel has no Landlock")
        # The node's environment holds GRAPH_API_KEY and AWS credentials; the worker's own does not.
        # With its first character as the quote, the sniffer fails at the next one and quotes the text.
        first = next(iter(os.environ))
        error = await run_in_worker(backend, "attacker",
                                 f"LOAD FROM '/proc/{os.getpid()}/environ' "
                                 f"(file_format='csv', header=true, quote='{first[0]}') RETURN *")
        assert "Line/record containing the error" not in error, error
        assert "denied" in error.lower() or "permission" in error.lower(), error


async def test_attack_a_worker_cannot_read_another_tenants_database_file(tmp_path: Path) -> None:
    async with node_client(make_settings(tmp_path / "dbs")) as client:
        await create_db(client, "attacker", ddl=PERSON_DDL)
        await create_db(client, "victim", ddl=PERSON_DDL)
        backend: EmbeddedBackend = client.app.state.node.backend
        assert await run_in_worker(backend, "attacker", "RETURN 1") == "ok"
        if next(w for w in backend.supervisor.workers() if w.label == "attacker").sandbox == "unavailable":
            pytest.skip("this kernel has no Landlock")
        victim_file = backend.catalog.graph_file("victim")
        # Today: "Invalid UTF8-encoded string. Line/record containing the error: 'KUZU...'"
        error = await run_in_worker(backend, "attacker", f"LOAD FROM '{victim_file}' (file_format='csv') RETURN *")
        assert "Line/record containing the error" not in error, error
        assert "denied" in error.lower() or "permission" in error.lower(), error
