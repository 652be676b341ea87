"""The second wall: an engine worker cannot read or write outside its own database's directory,
even when a file-reading statement reaches its engine (here sent by the test straight to the backend,
past the statement policy that refuses it over HTTP)."""

from __future__ import annotations

from pathlib import Path

import pytest

from node_api.backends.embedded.backend import EmbeddedBackend
from tests.support.node import PERSON_DDL, create_db, node_client
from tests.support.worker import run_in_worker


async def test_a_worker_reaches_only_its_own_directory(settings_factory, tmp_path: Path) -> None:
    secret = tmp_path / "node-secret.csv"
    secret.write_text("id\n42\n")
    async with node_client(settings_factory()) as client:
        await create_db(client, "mine", ddl=PERSON_DDL)
        await create_db(client, "theirs", ddl=PERSON_DDL)
        backend: EmbeddedBackend = client.app.state.node.backend
        await run_in_worker(backend, "mine", "RETURN 1")  # the worker is up
        workers = {w.label: w for w in backend.supervisor.workers()}
        if workers["mine"].sandbox == "unavailable":
            pytest.skip("this kernel has no Landlock")
        assert workers["mine"].sandbox.startswith("landlock abi")

        theirs = backend.catalog.graph_dir("theirs")
        (theirs / "private.csv").write_text("id\n7\n")
        mine = backend.catalog.graph_dir("mine")
        (mine / "own.csv").write_text("id\n1\n")
        meta = theirs / "meta.json"
        for outside in (secret, theirs / "private.csv", meta, Path("/etc/passwd")):
            error = await run_in_worker(backend, "mine",
                                            f"LOAD FROM '{outside}' (file_format='csv', header=false) RETURN *")
            assert error != "ok" and ("denied" in error.lower() or "permission" in error.lower()), error
        copy_out = await run_in_worker(backend, "mine", f"COPY (RETURN 1 AS x) TO '{tmp_path / 'out.csv'}'")
        assert copy_out != "ok" and not (tmp_path / "out.csv").exists()
        # Its own directory stays usable: the engine's own files, and the node's exports there.
        assert await run_in_worker(backend, "mine", f"LOAD FROM '{mine / 'own.csv'}' RETURN *") == "ok"
        assert (await client.post("/databases/mine/query", json={"cypher": "MATCH (p:Person) RETURN count(p)"})
                ).json()["rows"] == [[0]]
