"""The Neo4j backend against a real Bolt server (ArcadeDB, see arcadedb_server.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import json
from pathlib import Path

import pyarrow as pa
import pytest
from neo4j import AsyncDriver

from node_api.backends import errors
from node_api.backends.base import StatementKind
from node_api.backends.neo4j import ddl as ddl_mod
from node_api.backends.neo4j.admin import SingleDatabase
from node_api.backends.neo4j.backend import Neo4jBackend
from tests.support.arcadedb_server import ArcadeDBServer, neo4j_settings

R, W = StatementKind.READ, StatementKind.WRITE
DDL = [
    "CREATE NODE TABLE Person(id INT64, name STRING, born DATE, PRIMARY KEY(id))",
    "CREATE NODE TABLE City(name STRING PRIMARY KEY)",
    "CREATE REL TABLE LIVES_IN(FROM Person TO City, since INT64)",
]


async def rows(b: Neo4jBackend, graph_id: str, cypher: str, params: dict | None = None) -> list[list]:
    return (await b.execute(graph_id, cypher, params, timeout_s=10, kind=b.classify(cypher))).rows


# ---- start-up and health

async def test_start_reports_server_and_health(backend: Neo4jBackend) -> None:
    assert backend.is_arcadedb
    assert "ArcadeDB" in backend.engine_version
    health = await backend.health()
    assert health["engine"] == "neo4j"
    assert backend.capabilities.multiple_databases and not backend.capabilities.s3_copy


async def test_enterprise_fails_at_start(bolt_server: ArcadeDBServer, tmp_path: Path) -> None:
    b = Neo4jBackend(neo4j_settings(bolt_server, tmp_path, NEO4J_ENTERPRISE=True))
    with pytest.raises(errors.Unsupported, match="not implemented"):
        await b.start()


async def test_server_down_is_backend_unavailable(bolt_server: ArcadeDBServer, tmp_path: Path) -> None:
    from tests.support.ports import free_port

    dead = neo4j_settings(bolt_server, tmp_path, NEO4J_URI=f"bolt://127.0.0.1:{free_port()}")
    with pytest.raises(errors.BackendUnavailable):
        await Neo4jBackend(dead).start()


class _Cuttable:
    """A loopback TCP relay in front of the Bolt server: close() makes the server go away for real
    (listener closed, open connections cut) without stopping the session's shared server."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers += [writer, up_writer]

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
            sink.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer), return_exceptions=True)

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()


async def test_health_raises_when_server_goes_away(bolt_server: ArcadeDBServer, community: Neo4jBackend,
                                                   tmp_path: Path) -> None:
    relay = _Cuttable(bolt_server.bolt_port)
    await relay.start()
    database = community.admin.database_for("any")  # the community fixture's own server database
    b = Neo4jBackend(neo4j_settings(bolt_server, tmp_path, NEO4J_URI=f"bolt://127.0.0.1:{relay.port}"),
                     admin=SingleDatabase(database))
    await b.start()
    try:
        assert (await b.health())["engine"] == "neo4j"
        await relay.close()
        with pytest.raises(errors.BackendUnavailable):
            await b.health()
    finally:
        await b.close()


async def test_wrong_password_is_backend_unavailable(bolt_server: ArcadeDBServer, tmp_path: Path) -> None:
    with pytest.raises(errors.BackendUnavailable, match="credentials"):
        await Neo4jBackend(neo4j_settings(bolt_server, tmp_path, NEO4J_PASSWORD="wrong")).start()


async def test_arcadedb_default_database_name_is_refused(bolt_server: ArcadeDBServer, tmp_path: Path) -> None:
    # ArcadeDB would silently run `neo4j` sessions on whatever database the connection used last.
    b = Neo4jBackend(neo4j_settings(bolt_server, tmp_path), admin=SingleDatabase("neo4j"))
    with pytest.raises(errors.BackendError, match="real database name"):
        await b.start()
    await b.close()


# ---- database lifecycle

async def test_lifecycle_one_database_per_graph(backend: Neo4jBackend, bolt_server: ArcadeDBServer,
                                                graph_id: str) -> None:
    info = await backend.create_database(graph_id, "custom", DDL)
    assert info.graph_id == graph_id and info.schema_type == "custom"
    assert graph_id in bolt_server.databases()
    with pytest.raises(errors.DatabaseExists):
        await backend.create_database(graph_id, "custom", [])
    assert [i.graph_id for i in await backend.list_databases()].count(graph_id) == 1
    assert (await backend.database_info(graph_id)).graph_id == graph_id
    await backend.delete_database(graph_id)
    assert graph_id not in bolt_server.databases()
    with pytest.raises(errors.DatabaseNotFound):
        await backend.database_info(graph_id)
    with pytest.raises(errors.DatabaseNotFound):
        await backend.execute(graph_id, "RETURN 1", None, timeout_s=5, kind=R)


async def test_failed_ddl_leaves_nothing_behind(backend: Neo4jBackend, bolt_server: ArcadeDBServer,
                                                graph_id: str) -> None:
    with pytest.raises(errors.InvalidSchema):
        await backend.create_database(graph_id, "custom", [DDL[0], "CREATE REL TABLE R(FROM Nope TO Person)"])
    assert graph_id not in bolt_server.databases()
    assert graph_id not in [i.graph_id for i in await backend.list_databases()]


async def test_records_survive_a_restart(backend: Neo4jBackend, bolt_server: ArcadeDBServer, tmp_path: Path,
                                         graph_id: str) -> None:
    await backend.create_database(graph_id, "entity", DDL)
    from node_api.backends.neo4j.admin import ArcadeDBHttpAdmin
    from tests.support.arcadedb_server import ROOT_PASSWORD

    again = Neo4jBackend(neo4j_settings(bolt_server, tmp_path),
                         admin=ArcadeDBHttpAdmin(bolt_server.http_url, "root", ROOT_PASSWORD))
    await again.start()
    try:
        info = await again.database_info(graph_id)
        assert info.schema_type == "entity"
        assert {t.name for t in (await again.schema(graph_id)).node_tables} >= {"Person", "City"}
    finally:
        await again.close()


async def test_graphs_created_by_another_api_task_are_found(backend: Neo4jBackend, bolt_server: ArcadeDBServer,
                                                            tmp_path: Path, graph_id: str) -> None:
    from node_api.backends.neo4j.admin import ArcadeDBHttpAdmin
    from tests.support.arcadedb_server import ROOT_PASSWORD

    other = Neo4jBackend(neo4j_settings(bolt_server, tmp_path),
                         admin=ArcadeDBHttpAdmin(bolt_server.http_url, "root", ROOT_PASSWORD))
    await other.start()
    try:
        await other.create_database(graph_id, "shared", DDL)
        assert (await backend.database_info(graph_id)).schema_type == "shared"
        assert await rows(backend, graph_id, "RETURN 1 AS x") == [[1]]
    finally:
        await other.close()


async def test_community_holds_one_graph(community: Neo4jBackend) -> None:
    assert not community.capabilities.multiple_databases
    await community.create_database("t_first", "custom", DDL)
    with pytest.raises(errors.CapacityExceeded, match="single database"):
        await community.create_database("t_second", "custom", [])
    await rows(community, "t_first", "CREATE (:Person {id: 1})-[:LIVES_IN]->(:City {name: 'Oslo'})")
    await community.delete_database("t_first")
    # The graph's data and constraints are gone: the next graph starts empty.
    await community.create_database("t_second", "custom", ["CREATE NODE TABLE Person(id INT64, PRIMARY KEY(id))"])
    assert await rows(community, "t_second", "MATCH (n) WHERE NOT n:_GraphApiMeta RETURN count(n)") == [[0]]
    await rows(community, "t_second", "CREATE (:Person {id: 1})")
    await community.delete_database("t_second")


# ---- queries

async def test_values_map_to_the_shared_json_shapes(backend: Neo4jBackend, graph_id: str) -> None:
    await backend.create_database(graph_id, "custom", DDL)
    result = await backend.execute(
        graph_id,
        "CREATE p = (a:Person {id: 1, name: $name, born: date('1990-05-17')})-[r:LIVES_IN {since: 2001}]->"
        "(c:City {name: 'Oslo'}) RETURN a, r, p, a.born AS born, datetime('2024-01-02T03:04:05.5Z') AS ts, "
        "localdatetime('2024-01-02T03:04:05') AS lts, duration('P1DT2H') AS d, duration('P1M') AS m, $b AS b",
        {"name": "Ann", "b": b"\x00\x01"}, timeout_s=10, kind=W)
    assert result.columns == ["a", "r", "p", "born", "ts", "lts", "d", "m", "b"]
    a, r, p, born, ts, lts, d, m, b = result.rows[0]
    node = a["_value"]  # the wire form of docs/result-values.md (tests/node_api/backends/values covers every type)
    assert a["$type"] == "Node" and node["_labels"] == ["Person"] and node["_properties"]["name"] == "Ann"
    assert isinstance(node["_element_id"], str)
    end_id = p["_value"][2]["_value"]["_element_id"]
    assert r == {"$type": "Relationship", "_value": {
        "_element_id": r["_value"]["_element_id"], "_start_node_element_id": node["_element_id"],
        "_end_node_element_id": end_id, "_type": "LIVES_IN", "_properties": {"since": 2001}}}
    assert p["$type"] == "Path" and p["_value"][1]["_value"]["_element_id"] == r["_value"]["_element_id"]
    assert born == {"$type": "Date", "_value": "1990-05-17"}
    assert ts == {"$type": "OffsetDateTime", "_value": "2024-01-02T03:04:05.500000+00:00"}
    assert lts == {"$type": "LocalDateTime", "_value": "2024-01-02T03:04:05"}
    assert d == {"$type": "Duration", "_value": "P1DT2H"} and m == {"$type": "Duration", "_value": "P1M"}
    assert b == {"$type": "Base64", "_value": "AAE="}


async def test_parameters_and_errors(backend: Neo4jBackend, graph_id: str) -> None:
    await backend.create_database(graph_id, "custom", DDL)
    assert await rows(backend, graph_id, "RETURN $x AS x, $m.k AS k", {"x": [1, 2], "m": {"k": "v"}}) == [[[1, 2], "v"]]
    with pytest.raises(errors.InvalidQuery):
        await rows(backend, graph_id, "RETURN 1 +")
    await rows(backend, graph_id, "CREATE (:Person {id: 7})")
    with pytest.raises(errors.QueryFailed, match="constraint"):
        await rows(backend, graph_id, "CREATE (:Person {id: 7})")
    with pytest.raises(errors.InvalidQuery):
        await rows(backend, graph_id, "RETURN $x AS x", {"x": object()})


@pytest.mark.parametrize("cypher", [
    "LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l",  # ArcadeDB really reads the file
    "CALL dbms.components()",
    "CALL apoc.load.json('http://example.com')",
    "CREATE DATABASE other",
    "SHOW DATABASES",
    "CREATE USER eve SET PASSWORD 'x'",
    "USE other MATCH (n) RETURN n",
    "MATCH (n) CALL { WITH n SET n.x = 1 } IN TRANSACTIONS",
])
def test_guard_refuses_what_reaches_the_server(backend: Neo4jBackend, cypher: str) -> None:
    with pytest.raises(errors.QueryForbidden):
        backend.classify(cypher)


def test_guard_classifies(backend: Neo4jBackend) -> None:
    assert backend.classify("MATCH (n) RETURN n.load, n.use") is R
    assert backend.classify("CALL db.labels()") is R
    assert backend.classify("SHOW INDEXES") is R
    assert backend.classify("MERGE (n:X {id: 1})") is W
    assert backend.classify("CREATE INDEX FOR (n:X) ON (n.a)") is W


async def test_read_write_routing(backend: Neo4jBackend, graph_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    await backend.create_database(graph_id, "custom", DDL)
    modes: list[str] = []
    original = AsyncDriver.session

    def spy(driver: AsyncDriver, **kwargs):  # type: ignore[no-untyped-def]
        modes.append(kwargs["default_access_mode"])
        assert kwargs["database"] == graph_id  # always explicit
        return original(driver, **kwargs)

    monkeypatch.setattr(AsyncDriver, "session", spy)  # the driver's class: the backend's own is private
    await backend.execute(graph_id, "CREATE (:City {name: 'x'})", None, timeout_s=5, kind=W)
    await backend.execute(graph_id, "MATCH (n) RETURN n", None, timeout_s=5, kind=R)
    assert modes == ["WRITE", "READ"]


async def test_timeout_stops_waiting_and_frees_the_connection(backend: Neo4jBackend, graph_id: str) -> None:
    await backend.create_database(graph_id, "custom", [])
    slow = "UNWIND range(1, 3000000) AS x UNWIND range(1, 20) AS y WITH x, y WHERE (x + y) % 7 = 0 RETURN count(*)"
    with pytest.raises(errors.QueryTimeout):
        await backend.execute(graph_id, slow, None, timeout_s=0.5, kind=R)
    assert backend.stats().active_connections == 0
    assert await rows(backend, graph_id, "RETURN 1 AS x") == [[1]]


async def test_stream_in_chunks(backend: Neo4jBackend, graph_id: str) -> None:
    await backend.create_database(graph_id, "custom", [])
    async with backend.stream(graph_id, "UNWIND range(1, 2500) AS x RETURN x", None, timeout_s=10, kind=R,
                              chunk_size=1000) as stream:
        assert stream.columns == ["x"]
        sizes = [len(c) async for c in stream.chunks()]
    assert sizes == [1000, 1000, 500]


async def test_stream_stopped_early_releases_everything(backend: Neo4jBackend, graph_id: str) -> None:
    await backend.create_database(graph_id, "custom", [])
    async with backend.stream(graph_id, "UNWIND range(1, 1000000) AS x RETURN x", None, timeout_s=10, kind=R,
                              chunk_size=100) as stream:
        async for chunk in stream.chunks():
            assert chunk[0] == [1]
            break
        assert backend.stats().active_connections == 1
    assert backend.stats().active_connections == 0
    assert await rows(backend, graph_id, "RETURN 2 AS x") == [[2]]


async def test_stream_error_rolls_back_a_write(backend: Neo4jBackend, graph_id: str) -> None:
    await backend.create_database(graph_id, "custom", [])
    with pytest.raises(RuntimeError):
        async with backend.stream(graph_id, "UNWIND range(1, 10) AS x CREATE (:Tmp {x: x}) RETURN x", None,
                                  timeout_s=10, kind=W, chunk_size=5) as stream:
            async for _ in stream.chunks():
                raise RuntimeError("consumer failed")
    assert await rows(backend, graph_id, "MATCH (n:Tmp) RETURN count(n)") == [[0]]


async def test_concurrent_queries_share_the_pool(backend: Neo4jBackend, graph_id: str) -> None:
    await backend.create_database(graph_id, "custom", [])
    results = await asyncio.gather(*(rows(backend, graph_id, "RETURN $i AS i", {"i": i}) for i in range(30)))
    assert [r[0][0] for r in results] == list(range(30))


# ---- schema

async def test_schema_declared_and_discovered(backend: Neo4jBackend, graph_id: str) -> None:
    await backend.create_database(graph_id, "custom", DDL)
    await rows(backend, graph_id, "CREATE (:Tag {word: 'x'})-[:ON {w: 1}]->(:City {name: 'Oslo'})")
    schema = await backend.schema(graph_id)
    nodes = {t.name: t for t in schema.node_tables}
    assert [p.name for p in nodes["Person"].properties if p.primary_key] == ["id"]
    assert nodes["Tag"].comment == "discovered (no DDL)" and [p.name for p in nodes["Tag"].properties] == ["word"]
    rels = {t.name: t for t in schema.rel_tables}
    assert rels["LIVES_IN"].from_tables == ["Person"] and rels["LIVES_IN"].to_tables == ["City"]
    assert rels["ON"].from_tables == ["Tag"]
    assert "_GraphApiMeta" not in nodes
    assert any(i["labelsOrTypes"] == ["Person"] for i in schema.indexes)
    await backend.apply_ddl(graph_id, ["CREATE NODE TABLE Company(ticker STRING PRIMARY KEY)"])
    assert "Company" in {t.name for t in (await backend.schema(graph_id)).node_tables}
    with pytest.raises(errors.InvalidSchema):
        await backend.apply_ddl(graph_id, ["CREATE NODE TABLE Company(ticker STRING PRIMARY KEY)"])
    # A label no entity carries any more is no table (ArcadeDB keeps the empty type).
    await rows(backend, graph_id, "MATCH ()-[r:ON]->() DELETE r")
    await rows(backend, graph_id, "MATCH (t:Tag) DELETE t")
    schema = await backend.schema(graph_id)
    assert "Tag" not in {t.name for t in schema.node_tables} and "ON" not in {t.name for t in schema.rel_tables}


@pytest.mark.parametrize("statement", [
    "CREATE NODE TABLE Broken(id INT64, PRIMARY KEY(",
    "CREATE NODE TABLE Broken(id INT64, name STRING",
    "CREATE NODE TABLE Broken(id, PRIMARY KEY(id))",
    "CREATE NODE TABLE Broken(id INT64, PRIMARY KEY(other))",
    "CREATE NODE TABLE Broken(id INT64, PRIMARY id)",
])
def test_ddl_kuzu_refuses_is_refused(statement: str) -> None:
    with pytest.raises(errors.InvalidSchema):
        ddl_mod.plan([statement])


def test_ddl_rel_multiplicity_is_no_column() -> None:
    [table] = ddl_mod.plan(["CREATE REL TABLE R(FROM A TO B, since INT64, MANY_ONE)"]).tables
    assert [p.name for p in table.properties] == ["since"] and (table.from_tables, table.to_tables) == (["A"], ["B"])


# ---- bulk load

async def test_bulk_load_nodes_and_rels(backend: Neo4jBackend, graph_id: str) -> None:
    await backend.create_database(graph_id, "custom", DDL)
    people = pa.table({
        "id": pa.array(list(range(12_000)) + [5], pa.int64()),
        "name": [f"p{i}" for i in range(12_000)] + ["dupe"],
        "born": [dt.date(2000, 1, 1)] * 12_001,
    })
    result = await backend.bulk_load(graph_id, "Person", people, ignore_errors=True)
    assert (result.rows_received, result.rows_loaded, result.rows_skipped) == (12_001, 12_000, 1)
    assert any("duplicate" in w for w in result.warnings)
    await backend.bulk_load(graph_id, "City", pa.table({"name": ["Oslo", "Rome"]}), ignore_errors=False)
    lives = pa.table({"from": [1, 2, 99_999], "to": ["Oslo", "Rome", "Oslo"], "since": [2000, 2001, 2002]})
    with pytest.raises(errors.QueryFailed, match="nothing was loaded"):
        await backend.bulk_load(graph_id, "LIVES_IN", lives, ignore_errors=False)
    assert await rows(backend, graph_id, "MATCH ()-[r:LIVES_IN]->() RETURN count(r)") == [[0]]
    result = await backend.bulk_load(graph_id, "LIVES_IN", lives, ignore_errors=True)
    assert (result.rows_loaded, result.rows_skipped) == (2, 1)
    assert await rows(backend, graph_id, "MATCH (p:Person {id: 2})-[r:LIVES_IN]->(c) RETURN c.name, r.since, "
                                         "p.born") == [["Rome", 2001, {"$type": "Date", "_value": "2000-01-01"}]]
    # Every valid row arrived (the fork's ignore_errors dropped valid rows silently).
    assert await rows(backend, graph_id, "MATCH (p:Person) RETURN count(p), sum(p.id)") == [
        [12_000, sum(range(12_000))]]


async def test_bulk_load_existing_keys_and_decimals(backend: Neo4jBackend, graph_id: str) -> None:
    await backend.create_database(graph_id, "custom", ["CREATE NODE TABLE Item(id INT64 PRIMARY KEY, price DECIMAL(9,2))"])
    await rows(backend, graph_id, "CREATE (:Item {id: 1})")
    data = pa.table({"id": [1, 2], "price": pa.array([decimal.Decimal("1.10"), decimal.Decimal("2.25")],
                                                     pa.decimal128(9, 2))})
    with pytest.raises(errors.QueryFailed):
        await backend.bulk_load(graph_id, "Item", data, ignore_errors=False)
    result = await backend.bulk_load(graph_id, "Item", data, ignore_errors=True)
    assert (result.rows_loaded, result.rows_skipped) == (1, 1)
    assert await rows(backend, graph_id, "MATCH (i:Item {id: 2}) RETURN i.price") == [["2.25"]]


# ---- backup / restore

async def test_backup_restore_round_trip(backend: Neo4jBackend, graph_id: str, tmp_path: Path) -> None:
    await backend.create_database(graph_id, "custom", DDL)
    await rows(backend, graph_id,
               "CREATE (a:Person {id: 1, name: 'Ann', born: date('1990-05-17'), at: datetime('2024-01-02T03:04:05.123456789+02:00'), "
               "d: duration('P1M2D'), tags: ['x', 'y']})-[:LIVES_IN {since: 2001}]->(:City {name: 'Oslo'}), "
               "(a)-[:KNOWS]->(:Person {id: 2, name: 'Bob'})")
    manifest = await backend.backup(graph_id, tmp_path / "bk")
    assert (manifest["nodes"], manifest["relationships"]) == (3, 2)
    lines = (tmp_path / "bk" / "nodes.jsonl").read_text().splitlines()
    assert all(json.loads(line)["labels"] for line in lines)

    query = ("MATCH (a:Person {id: 1})-[r]->(b) RETURN a.born, a.at, a.d, a.tags, type(r), properties(r), "
             "labels(b) ORDER BY type(r)")
    before = await rows(backend, graph_id, query)
    copy_id = graph_id + "_copy"
    await backend.restore(copy_id, tmp_path / "bk", schema_type="custom")
    assert await rows(backend, copy_id, query) == before
    assert before[0][1] == {"$type": "OffsetDateTime", "_value": "2024-01-02T03:04:05.123456789+02:00"}

    # Over an existing graph: the new content replaces the old, constraints come back.
    await rows(backend, graph_id, "MATCH (n) WHERE NOT n:_GraphApiMeta DETACH DELETE n")
    await rows(backend, graph_id, "CREATE (:Person {id: 99})")
    await backend.restore(graph_id, tmp_path / "bk", schema_type="custom")
    assert await rows(backend, graph_id, query) == before
    assert await rows(backend, graph_id, "MATCH (p:Person) RETURN count(p)") == [[2]]
    with pytest.raises(errors.QueryFailed):
        await rows(backend, graph_id, "CREATE (:Person {id: 1})")


async def test_failed_restore_keeps_the_old_data(backend: Neo4jBackend, graph_id: str, tmp_path: Path) -> None:
    await backend.create_database(graph_id, "custom", DDL)
    await rows(backend, graph_id, "CREATE (:Person {id: 1, name: 'old'})")
    await backend.backup(graph_id, tmp_path / "bk")
    with (tmp_path / "bk" / "relationships.jsonl").open("a") as f:
        f.write(json.dumps({"id": "x", "type": "R", "start": "nope", "end": "nope", "properties": {}}) + "\n")
    with pytest.raises(errors.QueryFailed, match="inconsistent"):
        await backend.restore(graph_id, tmp_path / "bk", schema_type="custom")
    assert await rows(backend, graph_id, "MATCH (n) WHERE NOT n:_GraphApiMeta RETURN labels(n), n.name") == [
        [["Person"], "old"]]
    with pytest.raises(errors.QueryFailed):  # the key constraint is back
        await rows(backend, graph_id, "CREATE (:Person {id: 1})")
    with pytest.raises(errors.InvalidSchema):
        await backend.restore(graph_id, tmp_path / "nothing", schema_type="custom")


async def test_failed_restore_to_a_new_graph_leaves_nothing(backend: Neo4jBackend, bolt_server: ArcadeDBServer,
                                                            graph_id: str, tmp_path: Path) -> None:
    await backend.create_database(graph_id, "custom", DDL)
    await rows(backend, graph_id, "CREATE (:Person {id: 1, name: 'old'})")
    await backend.backup(graph_id, tmp_path / "bk")
    with (tmp_path / "bk" / "relationships.jsonl").open("a") as f:
        f.write(json.dumps({"id": "x", "type": "R", "start": "nope", "end": "nope", "properties": {}}) + "\n")
    copy_id = graph_id + "_copy"
    with pytest.raises(errors.QueryFailed, match="inconsistent"):
        await backend.restore(copy_id, tmp_path / "bk", schema_type="custom")
    assert not backend.exists(copy_id)
    assert copy_id not in bolt_server.databases()
    with pytest.raises(errors.DatabaseNotFound):
        await backend.database_info(copy_id)


async def test_a_graph_being_changed_is_busy(backend: Neo4jBackend, graph_id: str, tmp_path: Path) -> None:
    # The seam backup.py restores through: while changing() holds the graph, every other request for
    # it (a query, a second restore, a delete) is told to retry; afterwards the graph serves again.
    await backend.create_database(graph_id, "custom", DDL)
    await backend.backup(graph_id, tmp_path / "bk")
    async with backend.changing(graph_id) as record:
        assert record.graph_id == graph_id and "Person" in record.tables
        with pytest.raises(errors.DatabaseBusy):
            await rows(backend, graph_id, "RETURN 1")
        with pytest.raises(errors.DatabaseBusy):
            await backend.restore(graph_id, tmp_path / "bk", schema_type="custom")
        with pytest.raises(errors.DatabaseBusy):
            await backend.delete_database(graph_id)
        with pytest.raises(errors.DatabaseBusy):
            async with backend.changing(graph_id):
                pass
    assert await rows(backend, graph_id, "RETURN 1") == [[1]]
    with pytest.raises(errors.DatabaseNotFound):
        async with backend.changing(graph_id + "_none"):
            pass


async def test_kuzu_only_features_are_unsupported(backend: Neo4jBackend) -> None:
    with pytest.raises(errors.Unsupported, match="Kuzu"):
        await backend.copy_from_s3("g", "s3://b/x.parquet")
    assert not backend.capabilities.staging_tables


async def test_zoned_timestamps_keep_their_offset(backend: Neo4jBackend, graph_id: str) -> None:
    # ArcadeDB drops the offset of a zoned DateTime sent as a parameter; the loaders work around it.
    await backend.create_database(graph_id, "custom", ["CREATE NODE TABLE Ev(id INT64 PRIMARY KEY, at TIMESTAMP)"])
    at = pa.array([dt.datetime(2024, 1, 2, 3, 4, 5, 250000, tzinfo=dt.UTC), None], pa.timestamp("us", tz="UTC"))
    await backend.bulk_load(graph_id, "Ev", pa.table({"id": [1, 2], "at": at}), ignore_errors=False)
    assert await rows(backend, graph_id, "MATCH (e:Ev) RETURN e.id, e.at ORDER BY e.id") == [
        [1, {"$type": "OffsetDateTime", "_value": "2024-01-02T03:04:05.250000+00:00"}], [2, None]]


async def test_exhausted_pool_is_overloaded_not_a_hang(bolt_server: ArcadeDBServer, tmp_path: Path,
                                                       graph_id: str) -> None:
    from node_api.backends.neo4j.admin import ArcadeDBHttpAdmin
    from tests.support.arcadedb_server import ROOT_PASSWORD

    settings = neo4j_settings(bolt_server, tmp_path, NEO4J_MAX_CONNECTION_POOL_SIZE=1, GRAPH_API_QUEUE_TIMEOUT=0.5)
    b = Neo4jBackend(settings, admin=ArcadeDBHttpAdmin(bolt_server.http_url, "root", ROOT_PASSWORD))
    await b.start()
    try:
        await b.create_database(graph_id, "custom", [])
        async with b.stream(graph_id, "UNWIND range(1, 100000) AS x RETURN x", None, timeout_s=10, kind=R,
                            chunk_size=10) as stream:
            async for _ in stream.chunks():
                break
            # Overloaded (the pool's wait, GRAPH_API_QUEUE_TIMEOUT) and not QueryTimeout (the query's 3 s):
            # the wait for a connection is bounded on its own.
            with pytest.raises(errors.Overloaded):
                await b.execute(graph_id, "RETURN 1", None, timeout_s=3, kind=R)
        assert await rows(b, graph_id, "RETURN 1 AS x") == [[1]]
    finally:
        await b.delete_database(graph_id)
        await b.close()
