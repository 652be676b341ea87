"""One case per engine type (several for types with edge values): the Cypher that returns it, the wire
value every transport must carry (docs/result-values.md), the Python value both clients must give, and
how the value is sent back as a parameter.

`back` is Cypher that compares `$v` with the original value and must return `back_expected`; None means
the value cannot be a parameter (a node, relationship or path: Cypher takes none) and the node answers
400 `invalid_parameter`; `back_status` names another documented refusal. Cases are keyed by the engine's
logical type id, so tests/node_api/backends/values/test_coverage.py can check every type the engine lists has one.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from neo4j.spatial import CartesianPoint, WGS84Point
from neo4j.time import DateTime as Neo4jDateTime
from neo4j.time import Duration
from neo4j.time import Time as Neo4jTime

from node_api.models.values import MapEntries, Node, Path, Relationship


@dataclass(frozen=True)
class Case:
    name: str
    type_id: str  # the engine's type id of the returned column (Kuzu) or the driver's type (Neo4j)
    expr: str  # RETURN expression, after `match`
    wire: Any
    python: Any
    back: str | None = "{expr} = $v"
    back_expected: Any = True
    back_status: int = 200
    match: str = ""
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cypher(self) -> str:
        return f"{self.match} RETURN {self.expr} AS v".strip()

    @property
    def back_cypher(self) -> str | None:
        if self.back is None:
            return None
        return f"{self.match} RETURN {self.back.format(expr=self.expr)} AS ok".strip()


def t(type_name: str, value: Any) -> dict[str, Any]:
    return {"$type": type_name, "_value": value}


# ---- Kuzu / LadybugDB ------------------------------------------------------------------------------

KUZU_DDL = (
    "CREATE NODE TABLE Item(id INT64, big INT128, dec DECIMAL(18, 3), m MAP(STRING, INT64), u UUID, "
    "tz TIMESTAMP_TZ, iv INTERVAL, b BLOB, d DATE, PRIMARY KEY(id)); "
    "CREATE NODE TABLE Counter(id SERIAL, PRIMARY KEY(id)); "
    "CREATE NODE TABLE Clock(id INT64, ns TIMESTAMP_NS, PRIMARY KEY(id)); "
    "CREATE REL TABLE Next(FROM Item TO Item, w DOUBLE)"
)
UUID_TEXT = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
BLOB_CYPHER = "CAST('\\\\xAA\\\\x00ab' AS BLOB)"  # Cypher text: CAST('\\xAA\\x00ab' AS BLOB)
KUZU_SEED = [
    "CREATE (:Item {id: 1, big: CAST('170141183460469231731687303715884105727' AS INT128), "
    "dec: CAST('123456789012345.678' AS DECIMAL(18, 3)), m: map(['a'], [1]), "
    f"u: UUID('{UUID_TEXT}'), tz: CAST('2024-01-02 03:04:05.5+02' AS TIMESTAMP_TZ), "
    f"iv: interval('3 days 4 hours'), b: {BLOB_CYPHER}, d: date('2024-01-31')}})",
    "CREATE (:Item {id: 2}), (:Item {id: 3})",
    "MATCH (a:Item {id: 1}), (b:Item {id: 2}) CREATE (a)-[:Next {w: 0.5}]->(b)",
    "MATCH (a:Item {id: 2}), (b:Item {id: 3}) CREATE (a)-[:Next {w: 1.5}]->(b)",
    "CREATE (:Counter)",
]
# Loaded through Arrow (the bulk path): Cypher cannot write sub-microsecond digits.
CLOCK_NS = 1_704_164_645_123_456_789  # 2024-01-02T03:04:05.123456789

ITEM1_WIRE_PROPS = {
    "id": 1,
    "big": t("Integer", "170141183460469231731687303715884105727"),
    "dec": t("Decimal", "123456789012345.678"),
    "m": t("MapEntries", [["a", 1]]),
    "u": t("UUID", UUID_TEXT),
    "tz": t("OffsetDateTime", "2024-01-02T01:04:05.500000+00:00"),
    "iv": t("Duration", "P3DT4H"),
    "b": t("Base64", "qgBhYg=="),
    "d": t("Date", "2024-01-31"),
}
ITEM1_PY_PROPS = {
    "id": 1, "big": 2**127 - 1, "dec": decimal.Decimal("123456789012345.678"), "m": MapEntries((("a", 1),)),
    "u": uuid.UUID(UUID_TEXT), "tz": dt.datetime(2024, 1, 2, 1, 4, 5, 500000, tzinfo=dt.UTC),
    "iv": Duration(days=3, hours=4), "b": b"\xaa\x00ab", "d": dt.date(2024, 1, 31),
}
EMPTY_ITEM = {k: None for k in ITEM1_WIRE_PROPS if k != "id"}


def _kuzu_node(offset: int) -> tuple[dict[str, Any], Node]:
    wire_props = ITEM1_WIRE_PROPS if offset == 0 else {"id": offset + 1, **EMPTY_ITEM}
    py_props = ITEM1_PY_PROPS if offset == 0 else {"id": offset + 1, **EMPTY_ITEM}
    element_id = f"0:{offset}"
    return (t("Node", {"_element_id": element_id, "_labels": ["Item"], "_properties": wire_props}),
            Node(element_id, ("Item",), py_props))


def _kuzu_rel(offset: int) -> tuple[dict[str, Any], Relationship]:
    w = [0.5, 1.5][offset]
    element_id, start, end = f"3:{offset}", f"0:{offset}", f"0:{offset + 1}"
    return (t("Relationship", {"_element_id": element_id, "_start_node_element_id": start,
                               "_end_node_element_id": end, "_type": "Next", "_properties": {"w": w}}),
            Relationship(element_id, start, end, "Next", {"w": w}))


_N = [_kuzu_node(i) for i in range(3)]
_R = [_kuzu_rel(i) for i in range(2)]
ITEM1 = "MATCH (n:Item {id: 1})"

KUZU_CASES: list[Case] = [
    Case("null", "STRING", "NULL", None, None, back="$v IS NULL"),
    Case("bool", "BOOL", "true", True, True),
    Case("int8", "INT8", "CAST(-5 AS INT8)", -5, -5),
    Case("int16", "INT16", "CAST(300 AS INT16)", 300, 300),
    Case("int32", "INT32", "CAST(-70000 AS INT32)", -70000, -70000),
    Case("int64_safe", "INT64", "9007199254740991", 9007199254740991, 9007199254740991),
    Case("int64_beyond_2_53", "INT64", "9007199254740993", t("Integer", "9007199254740993"), 9007199254740993),
    Case("int64_min", "INT64", "CAST('-9223372036854775808' AS INT64)", t("Integer", "-9223372036854775808"),
         -(2**63)),
    Case("uint8", "UINT8", "CAST(255 AS UINT8)", 255, 255),
    Case("uint16", "UINT16", "CAST(65535 AS UINT16)", 65535, 65535),
    Case("uint32", "UINT32", "CAST(4294967295 AS UINT32)", 4294967295, 4294967295),
    Case("uint64_max", "UINT64", "CAST('18446744073709551615' AS UINT64)", t("Integer", "18446744073709551615"),
         2**64 - 1),
    Case("int128_small", "INT128", "CAST(5 AS INT128)", 5, 5),
    Case("int128_max", "INT128", "CAST('170141183460469231731687303715884105727' AS INT128)",
         t("Integer", "170141183460469231731687303715884105727"), 2**127 - 1),
    Case("int128_min", "INT128", "CAST('-170141183460469231731687303715884105728' AS INT128)",
         t("Integer", "-170141183460469231731687303715884105728"), -(2**127)),
    Case("serial", "SERIAL", "c.id", 0, 0, match="MATCH (c:Counter)"),
    Case("double", "DOUBLE", "1.5", 1.5, 1.5),
    Case("double_nan", "DOUBLE", "CAST('nan' AS DOUBLE)", t("Float", "NaN"), math.nan, back="$v <> $v"),
    Case("double_negative_infinity", "DOUBLE", "CAST('-inf' AS DOUBLE)", t("Float", "-Infinity"), float("-inf")),
    Case("float", "FLOAT", "CAST(1.1 AS FLOAT)", 1.100000023841858, 1.100000023841858),
    Case("date", "DATE", "date('2024-01-31')", t("Date", "2024-01-31"), dt.date(2024, 1, 31)),
    Case("timestamp", "TIMESTAMP", "timestamp('2024-01-02 03:04:05.123456')",
         t("LocalDateTime", "2024-01-02T03:04:05.123456"), dt.datetime(2024, 1, 2, 3, 4, 5, 123456)),
    Case("timestamp_sec", "TIMESTAMP_SEC", "CAST('2024-01-02 03:04:05' AS TIMESTAMP_SEC)",
         t("LocalDateTime", "2024-01-02T03:04:05"), dt.datetime(2024, 1, 2, 3, 4, 5)),
    Case("timestamp_ms", "TIMESTAMP_MS", "CAST('2024-01-02 03:04:05.123' AS TIMESTAMP_MS)",
         t("LocalDateTime", "2024-01-02T03:04:05.123000"), dt.datetime(2024, 1, 2, 3, 4, 5, 123000)),
    Case("timestamp_ns", "TIMESTAMP_NS", "k.ns", t("LocalDateTime", "2024-01-02T03:04:05.123456789"),
         Neo4jDateTime(2024, 1, 2, 3, 4, 5, 123456789), match="MATCH (k:Clock)",
         notes="the engine compares TIMESTAMP_NS to the microsecond"),
    Case("timestamp_tz", "TIMESTAMP_TZ", "CAST('2024-01-02 03:04:05.5+02' AS TIMESTAMP_TZ)",
         t("OffsetDateTime", "2024-01-02T01:04:05.500000+00:00"),
         dt.datetime(2024, 1, 2, 1, 4, 5, 500000, tzinfo=dt.UTC)),
    Case("interval", "INTERVAL", "interval('3 days 4 hours 5 microseconds')", t("Duration", "P3DT4H0.000005S"),
         Duration(days=3, hours=4, microseconds=5)),
    Case("interval_with_months", "INTERVAL", "interval('1 month 2 days')", t("Duration", "P32D"),
         Duration(days=32), back_expected=False,
         notes="engine fact: its Python API folds months into days (30 each); intervals compare part by part"),
    Case("decimal", "DECIMAL", "CAST(1.5 AS DECIMAL(10, 2))", t("Decimal", "1.50"), decimal.Decimal("1.50")),
    Case("decimal_small", "DECIMAL", "CAST(0.05 AS DECIMAL(4, 3))", t("Decimal", "0.050"), decimal.Decimal("0.050")),
    Case("string", "STRING", "'text ✓ \"quoted\"'", 'text ✓ "quoted"', 'text ✓ "quoted"'),
    Case("blob", "BLOB", BLOB_CYPHER, t("Base64", "qgBhYg=="), b"\xaa\x00ab"),
    Case("uuid", "UUID", f"UUID('{UUID_TEXT}')", t("UUID", UUID_TEXT), uuid.UUID(UUID_TEXT)),
    Case("list", "LIST", "[1, 2, NULL]", [1, 2, None], [1, 2, None], back="[1, 2] = list_slice($v, 0, 2)"),
    Case("list_of_dates", "LIST", "[date('2024-01-01')]", [t("Date", "2024-01-01")], [dt.date(2024, 1, 1)]),
    Case("array", "ARRAY", "CAST([1, 2, 3] AS INT64[3])", [1, 2, 3], [1, 2, 3]),
    Case("struct_with_reserved_keys", "STRUCT", "{_label: 'X', _id: 7, x: 1}", {"_label": "X", "_id": 7, "x": 1},
         {"_label": "X", "_id": 7, "x": 1}),
    Case("struct_with_type_key", "STRUCT", "{`$type`: 'x', v: 1}", t("Map", {"$type": "x", "v": 1}),
         {"$type": "x", "v": 1}),
    Case("struct_nested", "STRUCT", "{d: date('2024-01-01'), n: {x: 2}}", {"d": t("Date", "2024-01-01"), "n": {"x": 2}},
         {"d": dt.date(2024, 1, 1), "n": {"x": 2}}),
    Case("map_list_keys", "MAP", "map([[1], [2]], ['x', 'y'])", t("MapEntries", [[[1], "x"], [[2], "y"]]),
         MapEntries((([1], "x"), ([2], "y")))),
    Case("map_string_keys", "MAP", "map(['a', 'b'], [1, 2])", t("MapEntries", [["a", 1], ["b", 2]]),
         MapEntries((("a", 1), ("b", 2)))),
    Case("union", "UNION", "union_value(a := 1)", 1, 1, back="union_extract({expr}, 'a') = $v",
         notes="engine fact: the Python API gives the member's value, not its tag"),
    Case("internal_id", "INTERNAL_ID", "id(n)", "0:0", "0:0", match=ITEM1, back_status=400,
         notes="engine fact: no parameter is an internal id; compare with internal_id(table, offset)"),
    Case("node", "NODE", "n", _N[0][0], _N[0][1], match=ITEM1, back=None),
    # Either table can bind n: the engine adds the other table's columns (null); the node has its own.
    Case("node_of_several_tables", "NODE", "n", _N[0][0], _N[0][1],
         match="MATCH (n:Item:Clock) WHERE n.id = 1 AND n.d IS NOT NULL", back=None),
    Case("node_unset_properties", "NODE", "n", _N[1][0], _N[1][1], match="MATCH (n:Item {id: 2})", back=None),
    Case("rel", "REL", "r", _R[0][0], _R[0][1], match="MATCH (:Item {id: 1})-[r:Next]->()", back=None),
    Case("struct_of_graph_values", "STRUCT", "{node: n, rels: [r]}", {"node": _N[0][0], "rels": [_R[0][0]]},
         {"node": _N[0][1], "rels": [_R[0][1]]}, match="MATCH (n:Item {id: 1})-[r:Next]->()", back=None),
    Case("path", "RECURSIVE_REL", "p",
         t("Path", [_N[0][0], _R[0][0], _N[1][0], _R[1][0], _N[2][0]]),
         Path(tuple(n for _, n in _N), tuple(r for _, r in _R)),
         match="MATCH p = (a:Item {id: 1})-[:Next*2..2]->(c)", back=None),
    Case("variable_length_rel", "RECURSIVE_REL", "e", [_R[0][0], _R[1][0]], [_R[0][1], _R[1][1]],
         match="MATCH (a:Item {id: 1})-[e:Next*2..2]->(c)", back=None),
]

# Types no Cypher expression returns as a column type, with why.
KUZU_UNREACHABLE = {
    "ANY": "the binder resolves every column's type; a null literal is STRING (checked by row_encoder directly)",
}


# ---- Neo4j (ArcadeDB over Bolt) ---------------------------------------------------------------------

NEO4J_DDL = ("CREATE NODE TABLE Person(name STRING, PRIMARY KEY(name)); "
             "CREATE REL TABLE KNOWS(FROM Person TO Person, since INT64)")
NEO4J_SEED = ("CREATE (a:Person {name: 'Ann', born: date('1990-05-17')})-[:KNOWS {since: 2001}]->"
              "(b:Person {name: 'Bob'})-[:KNOWS {since: 2002}]->(c:Person {name: 'Cy'})")
BERLIN = "Europe/Berlin"

NEO4J_CASES: list[Case] = [
    Case("null", "None", "null", None, None, back="$v IS NULL"),
    Case("boolean", "bool", "true", True, True),
    Case("integer", "int", "42", 42, 42),
    Case("integer_beyond_2_53", "int", "9007199254740993", t("Integer", "9007199254740993"), 9007199254740993),
    Case("float", "float", "1.5", 1.5, 1.5),
    Case("float_nan", "float", "0.0 / 0.0", t("Float", "NaN"), math.nan, back="$v <> $v"),
    Case("float_infinity", "float", "1.0 / 0.0", t("Float", "Infinity"), float("inf")),
    Case("string", "str", "'text ✓'", "text ✓", "text ✓"),
    # Cypher compares lists holding null as null: check the parts.
    Case("list", "list", "[1, 'a', null]", [1, "a", None], [1, "a", None],
         back="size($v) = 3 AND $v[0] = 1 AND $v[1] = 'a' AND $v[2] IS NULL"),
    Case("map", "dict", "{a: 1, d: date('2024-01-01')}", {"a": 1, "d": t("Date", "2024-01-01")},
         {"a": 1, "d": dt.date(2024, 1, 1)}),
    Case("map_with_type_key", "dict", "{`$type`: 'x', v: 1}", t("Map", {"$type": "x", "v": 1}), {"$type": "x", "v": 1}),
    Case("bytes", "bytes", "$b", t("Base64", "AAH/"), b"\x00\x01\xff", back="$b = $v",
         extra={"parameters": {"b": t("Base64", "AAH/")}}),
    Case("date", "Date", "date('2024-01-31')", t("Date", "2024-01-31"), dt.date(2024, 1, 31)),
    Case("local_time", "Time", "localtime('03:04:05.123456789')", t("LocalTime", "03:04:05.123456789"),
         Neo4jTime(3, 4, 5, 123456789)),
    Case("time", "Time", "time('03:04:05+02:00')", t("Time", "03:04:05+02:00"),
         dt.time(3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))),
    Case("local_datetime", "DateTime", "localdatetime('2024-01-02T03:04:05.123456789')",
         t("LocalDateTime", "2024-01-02T03:04:05.123456789"), Neo4jDateTime(2024, 1, 2, 3, 4, 5, 123456789)),
    Case("offset_datetime", "DateTime", "datetime('2024-01-02T03:04:05.5+02:00')",
         t("OffsetDateTime", "2024-01-02T03:04:05.500000+02:00"),
         dt.datetime(2024, 1, 2, 3, 4, 5, 500000, tzinfo=dt.timezone(dt.timedelta(hours=2)))),
    Case("zoned_datetime", "DateTime", f"datetime('2024-01-02T03:04:05[{BERLIN}]')",
         t("ZonedDateTime", f"2024-01-02T03:04:05+01:00[{BERLIN}]"),
         dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=zoneinfo.ZoneInfo(BERLIN))),
    Case("duration", "Duration", "duration('P1M2DT3.5S')", t("Duration", "P1M2DT3.5S"),
         Duration(months=1, days=2, seconds=3, nanoseconds=500000000)),
    Case("duration_negative_months", "Duration", "duration({months: -1, days: 2})", t("Duration", "P-1M2D"),
         Duration(months=-1, days=2)),
    Case("point_cartesian", "Point", "point({x: 1.5, y: 2})", t("Point", "SRID=7203;POINT (1.5 2.0)"),
         CartesianPoint((1.5, 2.0))),
    Case("point_3d", "Point", "point({x: 1, y: 2, z: 3})", t("Point", "SRID=9157;POINT Z (1.0 2.0 3.0)"),
         CartesianPoint((1.0, 2.0, 3.0))),
    Case("point_wgs84", "Point", "point({longitude: 2, latitude: 1})", t("Point", "SRID=4326;POINT (2.0 1.0)"),
         WGS84Point((2.0, 1.0)), back="$v.srid = 4326 AND $v.x = 2.0 AND $v.y = 1.0",
         notes="ArcadeDB 26.10: a WGS-84 point parameter compares unequal to the same point built in Cypher "
               "and has no longitude / latitude (x and y are the same values)"),
    Case("node", "Node", "a", None, None, match="MATCH (a:Person {name: 'Ann'})", back=None,
         extra={"graph": "a"}),
    Case("relationship", "Relationship", "r", None, None, match="MATCH (:Person {name: 'Ann'})-[r:KNOWS]->()",
         back=None, extra={"graph": "r"}),
    Case("path", "Path", "p", None, None, match="MATCH p = (:Person {name: 'Ann'})-[:KNOWS*2..2]->()",
         back=None, extra={"graph": "p"}),
    Case("variable_length_relationships", "list", "e", None, None,
         match="MATCH (:Person {name: 'Ann'})-[e:KNOWS*2..2]->()", back=None, extra={"graph": "e"}),
]
NEO4J_IDS = ("MATCH (a:Person {name: 'Ann'})-[r:KNOWS]->(b)-[s:KNOWS]->(c) "
             "RETURN elementId(a), elementId(b), elementId(c), elementId(r), elementId(s)")


def neo4j_graph_values(ids: list[str]) -> dict[str, tuple[Any, Any]]:
    """The seeded graph's expected (wire, Python) values, from its element ids (the server picks them)."""
    a, b, c, r, s = ids
    people = [(a, {"name": "Ann", "born": (t("Date", "1990-05-17"), dt.date(1990, 5, 17))}),
              (b, {"name": "Bob"}), (c, {"name": "Cy"})]
    nodes = []
    for element_id, props in people:
        wire_props = {k: v[0] if isinstance(v, tuple) else v for k, v in props.items()}
        py_props = {k: v[1] if isinstance(v, tuple) else v for k, v in props.items()}
        nodes.append((t("Node", {"_element_id": element_id, "_labels": ["Person"], "_properties": wire_props}),
                      Node(element_id, ("Person",), py_props)))
    rels = [(t("Relationship", {"_element_id": rid, "_start_node_element_id": start, "_end_node_element_id": end,
                                "_type": "KNOWS", "_properties": {"since": since}}),
             Relationship(rid, start, end, "KNOWS", {"since": since}))
            for rid, start, end, since in ((r, a, b, 2001), (s, b, c, 2002))]
    path_wire = t("Path", [nodes[0][0], rels[0][0], nodes[1][0], rels[1][0], nodes[2][0]])
    path_py = Path(tuple(n[1] for n in nodes), tuple(r[1] for r in rels))
    return {"a": nodes[0], "r": rels[0], "p": (path_wire, path_py),
            "e": ([r[0] for r in rels], [r[1] for r in rels])}
