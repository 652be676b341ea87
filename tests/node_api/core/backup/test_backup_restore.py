"""Backup and restore: exact round trips, consistency under writes, refusals that leave data intact."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from node_api.backends.embedded.backend import EmbeddedBackend
from node_api.backends.embedded.backup import check_compatible
from node_api.backends.embedded.profiles import KUZU
from node_api.core.backup.errors import IncompatibleBackup
from tests.node_api.core.backup.backup_helpers import edit_manifest, read_manifest, restore_outcome, signer
from tests.node_api.core.helpers import (
    backup,
    backup_portable,
    create_graph,
    cypher,
    dump,
    node_settings,
    populate,
    restore,
    running_node,
    wait_task,
)
from tests.support.node import in_flight_queries
from tests.support.waiting import until


@pytest.fixture
async def client(base_path: Path, embedded_engine: str) -> AsyncIterator[httpx.AsyncClient]:
    """This module runs on each embedded engine (native backups are engine files)."""
    async with running_node(node_settings(base_path, backend_type=embedded_engine)) as c:
        yield c


async def test_round_trip_is_exact_and_listed(client: httpx.AsyncClient) -> None:
    await create_graph(client, "g1")
    await populate(client, "g1")
    await client.post("/databases/g1/schema", json={"ddl": "CREATE NODE TABLE Empty(k STRING, PRIMARY KEY(k))"})
    before = await dump(client, "g1")
    result = await backup(client, "g1")
    assert result["node_count"] == 303 and result["rel_count"] == 399
    listed = (await client.get("/databases/g1/backups")).json()
    assert listed["total"] == 1 and listed["backups"][0]["location"] == result["location"]
    assert listed["backups"][0]["row_counts"]["node_tables"] == {"Person": 300, "City": 3, "Empty": 0}

    await cypher(client, "g1", "MATCH (p:Person) WHERE p.id < 50 DETACH DELETE p")
    await cypher(client, "g1", "CREATE (:Person {id: 9999, name: 'late'})")
    task = await restore(client, "g1", result["location"])
    assert task["status"] == "succeeded", task["error"]
    assert await dump(client, "g1") == before

    # Into a new graph: same data, the original left as it is.
    task = await restore(client, "g1", result["location"], target="g1copy")
    assert task["status"] == "succeeded", task["error"]
    assert await dump(client, "g1copy") == before
    assert (await client.get("/databases/g1copy")).status_code == 200


async def test_portable_round_trip_on_the_same_engine(client: httpx.AsyncClient) -> None:
    """A portable backup restores on the engine that wrote it too, over the live graph, verified by the
    row counts of every table; the list says which backups are portable."""
    await create_graph(client, "gp")
    await populate(client, "gp", 40)
    before = await dump(client, "gp")
    result = await backup_portable(client, "gp")
    assert result["backup_format"] == "portable" and result["node_count"] == 43 and result["warnings"] == []
    await cypher(client, "gp", "MATCH (p:Person) WHERE p.id < 10 DETACH DELETE p")
    task = await restore(client, "gp", result["location"])
    assert task["status"] == "succeeded", task["error"]
    assert await dump(client, "gp") == before
    listed = (await client.get("/databases/gp/backups")).json()["backups"]
    assert [b["backup_format"] for b in listed] == ["portable"]


async def test_portable_backup_with_damaged_counts_is_refused(client: httpx.AsyncClient) -> None:
    """The restore compares every table's row count with the signed manifest's (re-signed here, as an
    operator with the key could): a mismatch fails the task and the live graph stays."""
    await create_graph(client, "gq")
    await populate(client, "gq", 20)
    result = await backup_portable(client, "gq")
    before = await dump(client, "gq")

    archive = Path(result["location"])
    counts = read_manifest(archive)["row_counts"]
    counts["node_tables"]["Person"] += 1
    edit_manifest(archive, signer(client), row_counts=counts)
    task = await restore(client, "gq", result["location"])
    assert task["status"] == "failed" and task["error"]["code"] == "backup_corrupt", task
    assert await dump(client, "gq") == before


async def test_restore_never_overwrites_another_graph(client: httpx.AsyncClient) -> None:
    await create_graph(client, "ga")
    await create_graph(client, "gb")
    result = await backup(client, "ga")
    response = await client.post("/databases/ga/restore", json={"location": result["location"], "target_graph_id": "gb"})
    assert response.status_code == 409 and response.json()["error"]["code"] == "database_exists"
    # gb may not read ga's backups, nor restore them as its own.
    response = await client.post("/databases/gb/restore", json={"location": result["location"]})
    assert response.status_code == 403 and response.json()["error"]["code"] == "backup_forbidden"
    assert (await client.get("/databases/gb/backups")).json()["total"] == 0


async def test_backups_of_a_missing_graph_are_404_like_a_backup_of_it(client: httpx.AsyncClient) -> None:
    for response in (await client.get("/databases/nosuch/backups"),
                     await client.post("/databases/nosuch/backup", json={"destination": "local"})):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "database_not_found"
    # A graph with no backup yet lists none; a deleted graph's backups stay listed, to restore it.
    await create_graph(client, "gone")
    assert (await client.get("/databases/gone/backups")).json()["total"] == 0
    await cypher(client, "gone", "CREATE (:Person {id: 1, name: 'kept'})")
    result = await backup(client, "gone")
    assert (await client.delete("/databases/gone")).status_code == 200
    listed = (await client.get("/databases/gone/backups")).json()
    assert [b["location"] for b in listed["backups"]] == [result["location"]]
    task = await restore(client, "gone", result["location"])
    assert task["status"] == "succeeded", task["error"]
    assert await cypher(client, "gone", "MATCH (p:Person) RETURN p.name") == [["kept"]]


async def test_backup_is_consistent_while_writes_continue(client: httpx.AsyncClient) -> None:
    await create_graph(client, "busy")
    await cypher(client, "busy", "CREATE (:Person {id: 0, name: 'root'})")
    written = 0
    started = asyncio.Event()

    async def writer() -> None:
        nonlocal written
        # Each transaction adds node i and its edge to i-1: a torn copy would show a node without its edge.
        for i in range(1, 400):
            await cypher(client, "busy", "MATCH (a:Person {id: $p}) CREATE (a)-[:Knows {since: $i}]->"
                         "(:Person {id: $i, name: 'n'})", p=i - 1, i=i)
            written = i
            if i == 40:
                started.set()

    task = asyncio.create_task(writer())
    await started.wait()
    results = await asyncio.gather(*(backup(client, "busy") for _ in range(2)))
    await task
    assert written == 399  # writes went on, none failed
    for n, result in enumerate(results):
        assert 40 <= result["node_count"] - 1 < 399 or result["node_count"] == 400
        assert result["rel_count"] == result["node_count"] - 1
        target = f"busycopy{n}"
        restored = await restore(client, "busy", result["location"], target=target)
        assert restored["status"] == "succeeded", restored
        ids = [r[0] for r in await cypher(client, target, "MATCH (p:Person) RETURN p.id ORDER BY p.id")]
        assert ids == list(range(result["node_count"]))  # a prefix of the writes, nothing torn
        edges = await cypher(client, target, "MATCH (a)-[k:Knows]->(b) WHERE b.id = a.id + 1 RETURN count(k)")
        assert edges == [[result["rel_count"]]]


def _damage(archive: Path, how: str) -> None:
    data = bytearray(archive.read_bytes())
    if how == "flip":
        data[len(data) // 2] ^= 0xFF
        archive.write_bytes(bytes(data))
    else:
        archive.write_bytes(bytes(data[: len(data) // 2]))


def _leftovers(base: Path) -> list[Path]:
    return [*(base / ".creating").iterdir(), *(base / ".backups" / ".work").iterdir()]


@pytest.mark.parametrize("damage", ["flip", "truncate"])
async def test_damaged_archive_is_refused_and_data_stays(client: httpx.AsyncClient, damage: str) -> None:
    await create_graph(client, "g2")
    await populate(client, "g2", 100)
    result = await backup(client, "g2")
    await cypher(client, "g2", "CREATE (:Person {id: 5000, name: 'after the backup'})")
    before = await dump(client, "g2")
    archive = Path(result["location"])
    _damage(archive, damage)
    assert await restore_outcome(client, "g2", result["location"]) == (202, "backup_corrupt")
    assert await dump(client, "g2") == before  # the live database is untouched
    # ... and nothing was left half-built beside it.
    assert _leftovers(archive.parents[2]) == []


async def test_altered_manifest_is_untrusted_and_data_stays(client: httpx.AsyncClient) -> None:
    await create_graph(client, "g2")
    await populate(client, "g2", 20)
    result = await backup(client, "g2")
    before = await dump(client, "g2")
    archive = Path(result["location"])
    edit_manifest(archive, None, sha256="0" * 64)  # not re-signed
    assert await restore_outcome(client, "g2", result["location"]) == (422, "backup_untrusted")
    listed = (await client.get("/databases/g2/backups")).json()["backups"]
    assert [(b["trusted"], b["key_id"]) for b in listed] == [(False, result["key_id"])]
    # The same change signed by the node's own key: now the archive's checksum refuses it.
    edit_manifest(archive, signer(client), sha256="0" * 64)
    assert await restore_outcome(client, "g2", result["location"]) == (202, "backup_corrupt")
    assert await dump(client, "g2") == before
    assert _leftovers(archive.parents[2]) == []


async def test_backup_from_another_engine_version_is_refused(client: httpx.AsyncClient) -> None:
    await create_graph(client, "g3")
    result = await backup(client, "g3")
    edit_manifest(Path(result["location"]), signer(client), engine_version="0.10.0")
    response = await client.post("/databases/g3/restore", json={"location": result["location"]})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"]["code"] == "incompatible_backup" and "0.10.0" in body["error"]["message"]
    assert body["request_id"]


def test_engine_version_guard(tmp_path: Path) -> None:
    from tests.node_api.core.helpers import node_settings

    backend = EmbeddedBackend(node_settings(tmp_path), KUZU)
    good = {"engine": "kuzu", "engine_version": KUZU.version, "storage_version": 39}
    check_compatible(backend, good)
    for change in ({"engine_version": "0.11.2"}, {"engine": "neo4j"}, {"engine": "ladybug"}):
        with pytest.raises(IncompatibleBackup):
            check_compatible(backend, good | change)


def _backup_root(base_path: Path) -> Path:
    return base_path.resolve() / ".backups"


def _plant_symlink(path: Path) -> None:
    path.symlink_to("/etc/hostname")
    path.with_name(path.name.replace(".tar.zst", ".json")).symlink_to("/etc/hostname")


async def test_locations_are_validated(client: httpx.AsyncClient, base_path: Path) -> None:
    await create_graph(client, "g4")
    await create_graph(client, "other")
    mine = (await backup(client, "g4"))["location"]
    theirs = (await backup(client, "other"))["location"]
    root = _backup_root(base_path)
    cases = {
        "relative.tar.zst": (400, "invalid_backup_location"),
        "/etc/passwd": (400, "invalid_backup_location"),
        f"{root}/g4/../other/{Path(theirs).name}": (400, "invalid_backup_location"),
        f"{root}/g4/{Path(theirs).name}": (400, "invalid_backup_location"),  # not a g4 backup id
        f"{root}/g4//{Path(mine).name}": (400, "invalid_backup_location"),
        f"file://{mine}": (400, "invalid_backup_location"),
        theirs: (403, "backup_forbidden"),
        mine.replace(".tar.zst", ".json"): (400, "invalid_backup_location"),
        f"{root}/g4/g4-20000101T000000Z-00000000.tar.zst": (404, "backup_not_found"),
        "s3://node-backups/graph-backups/g4/x.tar.zst": (400, "backup_destination_unavailable"),
    }
    for location, (status, code) in cases.items():
        response = await client.post("/databases/g4/restore", json={"location": location})
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), location
    # A symlink planted under the root does not lead out of it.
    _plant_symlink(root / "g4" / "g4-20000101T000000Z-0000000a.tar.zst")
    response = await client.post("/databases/g4/restore",
                                 json={"location": f"{root}/g4/g4-20000101T000000Z-0000000a.tar.zst"})
    assert response.status_code == 400
    for bad in ({"location": mine, "target_graph_id": "../x"}, {"location": mine, "extra": 1}, {}):
        response = await client.post("/databases/g4/restore", json=bad)
        assert response.status_code == 422 and response.json()["error"]["code"] == "validation_error"
    assert (await client.post("/databases/nope/backup")).status_code == 404
    response = await client.post("/databases/g4/backup", json={"destination": "s3"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "backup_destination_unavailable"


async def test_s3_round_trip(s3, base_path: Path, embedded_engine: str) -> None:  # noqa: ANN001 - boto3 client
    from tests.node_api.core.helpers import BUCKET

    gid = f"gs3_{embedded_engine}"  # moto's bucket lives for the session: one graph per engine
    async with running_node(node_settings(base_path, backend_type=embedded_engine)) as client:
        await create_graph(client, gid)
        await populate(client, gid, 50)
        before = await dump(client, gid)
        result = await backup(client, gid, destination="s3")
        assert result["location"].startswith(f"s3://{BUCKET}/graph-backups/{gid}/")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"graph-backups/{gid}/")["Contents"]]
        assert len(keys) == 2  # archive + sidecar
        listed = (await client.get(f"/databases/{gid}/backups")).json()
        assert [b["destination"] for b in listed["backups"]] == ["s3"]
        await cypher(client, gid, "MATCH (n) DETACH DELETE n")
        task = await restore(client, gid, result["location"])
        assert task["status"] == "succeeded", task["error"]
        assert await dump(client, gid) == before
        for location, status in ((f"s3://elsewhere/graph-backups/{gid}/{result['backup_id']}.tar.zst", 400),
                                 (f"s3://{BUCKET}/graph-backups/{gid}/{gid}-20000101T000000Z-00000000.tar.zst", 404),
                                 (f"s3://{BUCKET}/graph-backups/x/{result['backup_id']}.tar.zst", 400)):
            response = await client.post(f"/databases/{gid}/restore", json={"location": location})
            assert response.status_code == status, (location, response.text)


async def test_backup_task_is_visible_in_tasks(client: httpx.AsyncClient) -> None:
    await create_graph(client, "g5")
    accepted = await client.post("/databases/g5/backup")
    task = await wait_task(client, accepted)
    assert task["kind"] == "backup" and task["graph_id"] == "g5" and task["progress"] == 100
    listed = (await client.get("/tasks", params={"graph_id": "g5", "kind": "backup"})).json()
    assert listed["total"] == 1


async def test_backup_does_not_wait_for_a_long_read(client: httpx.AsyncClient) -> None:
    # No CHECKPOINT (it would wait for the read and stall writers ~5 s): the WAL is copied along.
    await create_graph(client, "g6")
    await populate(client, "g6", 100)
    await cypher(client, "g6", "CREATE (:Person {id: 777, name: 'only in the WAL'})")
    before = await dump(client, "g6")
    # A read that cannot end on its own while the test runs (about 1e10 rows, a minute's timeout): the
    # graph's deletion below ends it, however long the backup took.
    slow = asyncio.create_task(client.post("/databases/g6/query", json={
        "cypher": "UNWIND range(1, 400000) AS x UNWIND range(1, 40000) AS y RETURN sum(x * y)", "timeout": 60}))
    await until(lambda: in_flight_queries(client), what="the long read running")
    result = await backup(client, "g6")
    assert not slow.done()  # the read was still running: the backup did not wait for it
    assert result["consistency"] == "copy+wal"
    restored = await restore(client, "g6", result["location"], target="g6copy")
    assert restored["status"] == "succeeded", restored["error"]
    assert await dump(client, "g6copy") == before
    assert (await client.delete("/databases/g6")).status_code == 200
    assert (await slow).status_code in (400, 404, 409)  # interrupted by the deletion, not left running
