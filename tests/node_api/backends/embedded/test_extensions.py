"""Engine extensions: /info lists what tenants may use; a statement needing a missing extension is a
400 not_supported naming it; LadybugDB's workers load LADYBUG_EXTENSION_DIR from inside their sandbox."""

from __future__ import annotations

from pathlib import Path

from tests.support.node import create_db, cypher, make_settings, node_client


async def test_kuzu_lists_its_statically_linked_extensions(tmp_path: Path) -> None:
    async with node_client(make_settings(tmp_path / "dbs", backend_type="kuzu")) as client:
        info = (await client.get("/info")).json()
        assert info["backend"] == "kuzu" and info["extensions"] == ["algo", "fts", "json", "vector"]
        await create_db(client, "g", ddl="CREATE NODE TABLE P(id INT64, PRIMARY KEY(id))")
        response = await cypher(client, "g", "RETURN stem('running', 'porter') AS s")
        assert response.status_code == 200 and response.json()["rows"] == [["run"]], response.text


async def test_ladybug_without_extensions_names_the_missing_one(tmp_path: Path) -> None:
    async with node_client(make_settings(tmp_path / "dbs", backend_type="ladybug")) as client:
        assert (await client.get("/info")).json()["extensions"] == []
        await create_db(client, "g", ddl="CREATE NODE TABLE P(id INT64, name STRING, PRIMARY KEY(id))")
        for statement, extension in (("RETURN stem('running', 'porter')", "fts"),
                                     ("CALL CREATE_FTS_INDEX('P', 'names', ['name'])", "fts"),
                                     ("MATCH (p:P) RETURN to_json(p)", "json"),
                                     ("CALL query_vector_index('P', 'v', [1.0], 3) RETURN *", "vector"),
                                     ("CALL page_rank('G') RETURN *", "algo")):
            response = await cypher(client, "g", statement)
            assert response.status_code == 400, response.text
            error = response.json()["error"]
            assert error["code"] == "not_supported" and error["details"]["extension"] == extension, error
            assert extension in error["message"]


async def test_ladybug_loads_the_extension_dir_inside_its_sandbox(tmp_path: Path) -> None:
    """No LadybugDB extension build can be fetched here, so the files are not extensions: the worker
    must reach them (the sandbox lets it read LADYBUG_EXTENSION_DIR) and fail to load them, which the
    node logs; nothing unloaded is offered to tenants, and unreviewed files are never tried."""
    extensions = tmp_path / "extensions"
    extensions.mkdir()
    (extensions / "libfts.lbug_extension").write_bytes(b"not a shared object")
    (extensions / "libhttpfs.lbug_extension").write_bytes(b"never loaded: not reviewed")
    settings = make_settings(tmp_path / "dbs", backend_type="ladybug", ladybug_extension_dir=extensions)
    async with node_client(settings) as client:
        backend = client.app.state.node.backend
        assert backend.extension_files == {"fts": (extensions / "libfts.lbug_extension").resolve()}
        assert extensions.resolve() in backend.extension_dirs
        assert set(backend.extension_errors) == {"fts"}
        # The engine read the file (a dynamic loader's complaint), not "does not exist" / "Permission denied".
        error = backend.extension_errors["fts"]
        assert "exist" not in error and "ermission" not in error, error
        assert (await client.get("/info")).json()["extensions"] == []
        await create_db(client, "g", ddl="CREATE NODE TABLE P(id INT64, PRIMARY KEY(id))")
        response = await cypher(client, "g", "RETURN stem('running', 'porter')")
        assert response.status_code == 400 and response.json()["error"]["details"]["extension"] == "fts"
