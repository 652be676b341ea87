"""Moving a graph between the embedded engines with a portable backup (docs/engine-migration.md): a
graph holding every property type and relationship kind goes from a node of one engine through S3 to a
node of the other, and every row is compared; then the moved graph keeps behaving as its schema says
(DEFAULTs, SERIAL, sequences, multiplicities)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.node_api.core.helpers import backup_portable, node_settings, restore, running_node
from tests.support.node import create_db, cypher

DDL = ";".join([
    "CREATE NODE TABLE T(id SERIAL, i8 INT8, i16 INT16, i32 INT32 DEFAULT 7, i64 INT64, i128 INT128, u8 UINT8, "
    "u16 UINT16, u32 UINT32, u64 UINT64, f FLOAT, dbl DOUBLE, dec DECIMAL(18, 3), b BOOL, s STRING DEFAULT 'dflt', "
    "bl BLOB, uu UUID, d DATE, ts TIMESTAMP, tsns TIMESTAMP_NS, tsms TIMESTAMP_MS, tssec TIMESTAMP_SEC, "
    "tstz TIMESTAMP_TZ, iv INTERVAL, l INT64[], a DOUBLE[3], st STRUCT(x INT64, y STRING), "
    "m MAP(STRING, INT64), un UNION(n INT64, s STRING), decs DECIMAL(6, 2)[], PRIMARY KEY(id))",
    "CREATE NODE TABLE P(name STRING, born DATE DEFAULT date('2000-01-01'), PRIMARY KEY(name))",
    "CREATE NODE TABLE Q(k INT64, PRIMARY KEY(k))",
    "CREATE NODE TABLE Empty(k UUID, PRIMARY KEY(k))",
    "CREATE REL TABLE Owns(FROM T TO P, w DOUBLE DEFAULT 1.5, MANY_ONE)",
    "CREATE REL TABLE Links(FROM P TO P, FROM P TO Q, since DATE DEFAULT date('2020-01-01'), amount DECIMAL(10, 2))",
    "CREATE REL TABLE Twin(FROM Q TO Q, ONE_ONE)",
    "CREATE REL TABLE Parent(FROM Q TO P, ONE_MANY)",
    "CREATE SEQUENCE ticket START 10 INCREMENT 5",
])
SEED = [
    "CREATE (:T {i8: -1, i16: 2, i64: 5, i128: CAST('170141183460469231731687303715884105727' AS INT128), "
    "u8: 255, u16: 65535, u32: 4294967295, u64: CAST('18446744073709551615' AS UINT64), f: 1.5, dbl: 2.25, "
    "dec: CAST('123456789012345.678' AS DECIMAL(18, 3)), b: true, s: 'x,\"y\"\n z', "
    "bl: CAST('\\\\xAA\\\\x00ab' AS BLOB), uu: UUID('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'), "
    "d: date('2024-01-31'), ts: timestamp('2024-01-02 03:04:05.123456'), "
    "tsns: CAST('2024-01-02 03:04:05.123456' AS TIMESTAMP_NS), tsms: CAST('2024-01-02 03:04:05.123' AS TIMESTAMP_MS), "
    "tssec: CAST('2024-01-02 03:04:05' AS TIMESTAMP_SEC), tstz: CAST('2024-01-02 03:04:05.5+02' AS TIMESTAMP_TZ), "
    "iv: interval('1 month 3 days 4 hours 5 microseconds'), l: [1, 2, NULL], a: [1.0, 2.0, 3.0], "
    "st: {x: 1, y: 'a, b: {c}'}, m: map(['a', 'b'], [1, NULL]), un: union_value(s := 'hi'), "
    "decs: [CAST(1.25 AS DECIMAL(6, 2)), NULL]})",
    "CREATE (:T {}), (:T {i64: -7, un: union_value(n := 3)})",
    "CREATE (:P {name: 'ann'}), (:P {name: 'bob', born: date('1990-05-06')}), (:Q {k: 1}), (:Q {k: 2}), (:Q {k: 3})",
    "MATCH (t:T), (p:P {name: 'ann'}) WHERE t.id < 2 CREATE (t)-[:Owns {w: CAST(t.id AS DOUBLE)}]->(p)",
    "MATCH (a:P {name: 'ann'}), (b:P {name: 'bob'}) CREATE (a)-[:Links {amount: CAST(9.99 AS DECIMAL(10, 2))}]->(b)",
    "MATCH (a:P {name: 'bob'}), (b:Q {k: 1}) CREATE (a)-[:Links {since: date('2021-02-03')}]->(b)",
    "MATCH (a:Q {k: 1}), (b:Q {k: 2}) CREATE (a)-[:Twin]->(b)",
    "MATCH (a:Q {k: 3}), (b:P) CREATE (a)-[:Parent]->(b)",
    "RETURN nextval('ticket')",
]
NODES = {"T": "id", "P": "name", "Q": "k", "Empty": "k"}
RELS = ["Owns", "Links", "Twin", "Parent"]


def _strip_ids(value: Any) -> Any:
    """Element ids are the engine's storage offsets, not data: they are not compared."""
    if isinstance(value, dict):
        return {k: _strip_ids(v) for k, v in value.items() if k not in ("_element_id", "_start_node_element_id",
                                                                        "_end_node_element_id")}
    if isinstance(value, list):
        return [_strip_ids(v) for v in value]
    return value


async def _rows(client: httpx.AsyncClient, graph_id: str, query: str) -> list[Any]:
    response = await cypher(client, graph_id, query)
    assert response.status_code == 200, (query, response.text)
    return _strip_ids(response.json()["rows"])


async def dump(client: httpx.AsyncClient, graph_id: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for table, key in NODES.items():
        out[table] = await _rows(client, graph_id, f"MATCH (n:{table}) RETURN n, union_tag(n.un) AS tag "
                                 if table == "T" else f"MATCH (n:{table}) RETURN n ORDER BY n.{key}")
        if table == "T":
            out[table] = sorted(out[table], key=lambda r: r[0]["_value"]["_properties"]["id"])
    for rel in RELS:
        out[rel] = sorted(await _rows(client, graph_id, f"MATCH (a)-[r:{rel}]->(b) RETURN label(a), "
                                      "CAST(coalesce(a.name, CAST(a.k AS STRING), CAST(a.id AS STRING)) AS STRING), "
                                      "label(b), CAST(coalesce(b.name, CAST(b.k AS STRING)) AS STRING), r"),
                          key=repr)
    return out


@pytest.mark.parametrize(("source", "target"), [("kuzu", "ladybug"), ("ladybug", "kuzu")])
async def test_a_graph_moves_between_engines_row_for_row(s3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         source: str, target: str) -> None:  # noqa: ANN001
    # One cluster: the nodes share the backup bucket and the signing key.
    monkeypatch.setenv("GRAPH_API_BACKUP_SIGNING_KEY_FILE", str(tmp_path / "signing-key.json"))
    gid = f"moved_{source}"
    async with running_node(node_settings(tmp_path / source, backend_type=source)) as old:
        await create_db(old, gid, DDL)
        for statement in SEED:
            response = await cypher(old, gid, statement)
            assert response.status_code == 200, (statement, response.text)
        before = await dump(old, gid)
        schema_before = (await old.get(f"/databases/{gid}/schema")).json()
        result = await backup_portable(old, gid, destination="s3")
        assert result["backup_format"] == "portable" and result["engine"] == source
        listed = (await old.get(f"/databases/{gid}/backups")).json()["backups"]
        assert [b["backup_format"] for b in listed] == ["portable"]
    # LadybugDB 0.22.0 exports no schema once a rel group exists, and no catalog function shows a
    # multiplicity (docs/engine-facts.md): the backup says which tables come back as MANY_MANY.
    assert any("Owns" in w for w in result["warnings"]) == (source == "ladybug")

    async with running_node(node_settings(tmp_path / target, backend_type=target)) as new:
        task = await restore(new, gid, result["location"])
        assert task["status"] == "succeeded", task["error"]
        assert task["result"]["backup_format"] == "portable" and task["result"]["backup_engine"] == source
        after = await dump(new, gid)
        for key in before:
            for row_before, row_after in zip(before[key], after[key], strict=True):
                assert row_after == row_before, key
        schema_after = (await new.get(f"/databases/{gid}/schema")).json()
        for key in ("node_tables", "rel_tables"):
            assert sorted(map(repr, schema_after[key])) == sorted(map(repr, schema_before[key]))
        # The schema's behaviour came along: DEFAULTs, the SERIAL's and the sequence's positions...
        assert (await cypher(new, gid, "CREATE (:T {}) RETURN 1")).status_code == 200
        rows = await _rows(new, gid, "MATCH (t:T) WITH t ORDER BY t.id DESC LIMIT 1 RETURN t.id, t.i32, t.s")
        assert rows == [[3, 7, "dflt"]]
        assert await _rows(new, gid, "RETURN nextval('ticket')") == [[15]]
        assert await _rows(new, gid, "MATCH (a:P {name: 'bob'}), (b:P {name: 'ann'}) CREATE (a)-[l:Links]->(b) "
                           "RETURN l.since") == [[{"$type": "Date", "_value": "2020-01-01"}]]
        # ...and the multiplicities (Owns is MANY_ONE: a T owns at most one P), where the source told them.
        response = await cypher(new, gid, "MATCH (t:T {id: 0}), (p:P {name: 'bob'}) CREATE (t)-[:Owns]->(p)")
        assert response.status_code == (400 if source == "kuzu" else 200), response.text
