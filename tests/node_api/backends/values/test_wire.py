"""The wire form on its own (node_api/models/values.py, core/jsonenc.py) and the parameter path's refusals:
every Python value survives encode -> JSON text -> decode; what cannot be read or sent is a clear 400."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import uuid
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from neo4j.time import Duration

from node_api.core.jsonenc import dumps
from node_api.models.values import MapEntries, decode_value, encode_value
from tests.node_api.backends.values.conftest import KUZU_GRAPH
from tests.node_api.backends.values.support import same

# ---- encode -> JSON text -> decode is the identity --------------------------------------------------

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**130), max_value=2**130), st.floats(),
    st.text(), st.binary(max_size=20), st.uuids(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.dates(), st.datetimes(), st.datetimes(timezones=st.just(dt.UTC)),
    st.datetimes(timezones=st.sampled_from([zoneinfo.ZoneInfo("Europe/Berlin"), zoneinfo.ZoneInfo("America/New_York")])),
    st.times(), st.builds(Duration, months=st.integers(-50, 50), days=st.integers(-50, 50),
                          seconds=st.integers(-10**6, 10**6), nanoseconds=st.integers(0, 10**9 - 1)),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=5) | st.just("$type"), inner, max_size=4),
        st.builds(lambda pairs: MapEntries(tuple(pairs)), st.lists(st.tuples(st.lists(inner, max_size=2), inner),
                                                                    max_size=3)),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_every_value_survives_the_wire(value) -> None:  # type: ignore[no-untyped-def]
    text = dumps(encode_value(value))
    back = decode_value(json.loads(text))  # a plain JSON parser reads it: no number beyond 2**53 - 1
    assert same(back, value) == []


def test_integers_beyond_2_53_are_never_numbers() -> None:
    big = 2**53
    assert json.loads(dumps({"rows": [[big - 1, big, -big, 2**64, 2**200]]})) == {
        "rows": [[big - 1, {"$type": "Integer", "_value": str(big)}, {"$type": "Integer", "_value": str(-big)},
                  {"$type": "Integer", "_value": str(2**64)}, {"$type": "Integer", "_value": str(2**200)}]]}
    assert dumps([True, 1.0]) == b"[true,1.0]"  # booleans and floats are not integers


def test_non_finite_floats_are_typed() -> None:
    assert [encode_value(x) for x in (math.inf, -math.inf)] == [{"$type": "Float", "_value": "Infinity"},
                                                               {"$type": "Float", "_value": "-Infinity"}]


def test_neo4j_typed_json_is_read() -> None:
    """Neo4j Query API v2 clients send every value typed: those parameters are read as such."""
    typed = {"$type": "List", "_value": [{"$type": "Integer", "_value": "7"}, {"$type": "String", "_value": "x"},
                                         {"$type": "Boolean", "_value": True}, {"$type": "Null", "_value": None},
                                         {"$type": "Float", "_value": "1.5"},
                                         {"$type": "Map", "_value": {"k": {"$type": "Date", "_value": "2024-01-02"}}},
                                         {"$type": "OffsetDateTime", "_value": "2024-01-02T03:04:05Z"}]}
    assert decode_value(typed) == [7, "x", True, None, 1.5, {"k": dt.date(2024, 1, 2)},
                                   dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)]


def test_clients_keep_types_they_do_not_know() -> None:
    newer = {"$type": "Hologram", "_value": [1, 2]}
    assert decode_value([newer], strict=False) == [newer]


def test_encodes_each_python_form() -> None:
    assert encode_value(decimal.Decimal("1E-7")) == {"$type": "Decimal", "_value": "0.0000001"}
    assert encode_value(uuid.UUID(int=1)) == {"$type": "UUID", "_value": "00000000-0000-0000-0000-000000000001"}
    assert encode_value({1: "a"}) == {"$type": "MapEntries", "_value": [[1, "a"]]}
    assert encode_value(dt.timedelta(days=-1, seconds=5)) == {"$type": "Duration", "_value": "P-1DT5S"}
    with pytest.raises(TypeError, match="no wire form"):
        encode_value(object())


# ---- the node refuses what it cannot read or send ---------------------------------------------------

@pytest.mark.parametrize(("value", "path"), [
    ({"$type": "Nope", "_value": 1}, "p"),
    ({"$type": "Date", "_value": "2024-13-45"}, "p"),
    ({"$type": "Date", "_value": "2024-01-02", "extra": 1}, "p"),
    ({"$type": "Integer", "_value": "1.5"}, "p"),
    ([1, {"$type": "Base64", "_value": "not base64!"}], "p[1]"),
    ({"k": {"$type": "Duration", "_value": "3 days"}}, "p.k"),
    ({"$type": "Node", "_value": {"_element_id": "0:0", "_labels": ["A"], "_properties": {}}}, "p"),
    (json.loads("[" * 100 + "]" * 100), "p" + "[0]" * 65),
])
async def test_unreadable_parameters_are_400(embedded_http, value, path) -> None:  # type: ignore[no-untyped-def]
    response = await embedded_http.post(f"/databases/{KUZU_GRAPH}/query",
                                    json={"cypher": "RETURN $p", "parameters": {"p": value}})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_parameter" and error["details"] == {"parameter": path}
    assert "Traceback" not in error["message"]


async def _kuzu(client, cypher: str, **parameters):  # type: ignore[no-untyped-def]
    return await client.post(f"/databases/{KUZU_GRAPH}/query", json={"cypher": cypher, "parameters": parameters})


async def test_maps_of_one_list_keep_their_own_values(embedded_http) -> None:
    """The engine assigns the fields of a list's maps by position, in the last map's order (measured):
    the node gives every map one order, so no value changes field."""
    response = await _kuzu(embedded_http, "RETURN $p", p=[{"a": 1, "b": 2}, {"b": 3, "a": 4}])
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [[[{"a": 1, "b": 2}, {"a": 4, "b": 3}]]]
    different = await _kuzu(embedded_http, "RETURN $p", p=[{"a": 1}, {"b": 2}])
    assert different.status_code == 400 and different.json()["error"]["code"] == "invalid_parameter"


@pytest.mark.parametrize("value", [
    {"a": None, "b": 1},  # the engine fails an assertion on a null struct field
    [], [None],  # nothing to infer a list's type from
    {"$type": "LocalTime", "_value": "03:04:05"},  # no time-of-day type
    {"$type": "Point", "_value": "SRID=7203;POINT (1.0 2.0)"},
    {"$type": "Duration", "_value": "PT0.000000001S"},  # intervals hold microseconds
    {"$type": "Duration", "_value": "P-1M2D"},  # months only when no part is negative
])
async def test_values_the_engine_cannot_take_are_400(embedded_http, value) -> None:  # type: ignore[no-untyped-def]
    response = await _kuzu(embedded_http, "RETURN $p", p=value)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_parameter" and error["details"]["parameter"].startswith("p")
    assert "KU_UNREACHABLE" not in error["message"]


async def test_values_sent_as_text_still_compare(embedded_http) -> None:
    """Values the engine's Python API cannot take go as the engine's own text (embedded_parameters)."""
    checks = {
        "CAST('170141183460469231731687303715884105727' AS INT128) = $p": {"$type": "Integer",
                                                                           "_value": str(2**127 - 1)},
        "interval('1 month 2 days') = $p": {"$type": "Duration", "_value": "P1M2D"},
        "CAST(0.05 AS DECIMAL(4, 3)) = $p": {"$type": "Decimal", "_value": "0.05"},
        "CAST(100000 AS DECIMAL(10, 0)) = $p": {"$type": "Decimal", "_value": "1E+5"},
        "CAST('2024-01-02 03:04:05+02' AS TIMESTAMP_TZ) = $p": {"$type": "OffsetDateTime",
                                                         "_value": "2024-01-02T03:04:05+02:00"},
    }
    for cypher, value in checks.items():
        response = await _kuzu(embedded_http, f"RETURN {cypher}", p=value)
        assert response.status_code == 200, (cypher, response.text)
        assert response.json()["rows"] == [[True]], cypher


async def test_user_maps_are_never_graph_values(embedded_http) -> None:
    """The issue's example: a struct with the engine's reserved keys stays the struct the user wrote."""
    response = await _kuzu(embedded_http, "RETURN {_label: 'X', _id: 7, x: 1} AS s, {_src: 1, _dst: 2, _label: 'R', "
                                      "_id: 3} AS r, {_nodes: [], _rels: []} AS p")
    assert response.json()["rows"] == [[{"_label": "X", "_id": 7, "x": 1},
                                        {"_src": 1, "_dst": 2, "_label": "R", "_id": 3},
                                        {"_nodes": [], "_rels": []}]]


async def test_neo4j_refuses_integers_past_64_bits(neo4j_http, neo4j_graph: str) -> None:
    response = await neo4j_http.post(f"/databases/{neo4j_graph}/query",
                                     json={"cypher": "RETURN $p", "parameters": {"p": 2**64}})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == {"code": "invalid_parameter", "message": "parameter p: Neo4j integers are 64-bit",
                                        "details": {"parameter": "p"}}


def test_node_properties_without_the_catalog() -> None:
    """Without the catalog's types (row_encoder's property_types) properties are encoded by value and
    kept whole; with them, another table's null columns are dropped."""
    from node_api.backends.values import row_encoder

    value = {"_id": {"table": 0, "offset": 1}, "_label": "P", "x": None, "big": decimal.Decimal(5)}
    by_value = row_encoder(["NODE"])
    assert by_value([dict(value)])[0]["_value"]["_properties"] == {"x": None, "big": {"$type": "Decimal",
                                                                                    "_value": "5"}}
    typed = row_encoder(["NODE"], lambda label: {"big": "INT128"})
    assert typed([dict(value)])[0]["_value"]["_properties"] == {"big": 5}


def test_same_detects_differences() -> None:
    """The strict comparison the conformance tests rely on."""
    assert same(1, 1.0) and same(True, 1) and same([1], [1, 2]) and same({"a": 1}, {"b": 1})
    assert same(dt.datetime(2024, 1, 1, tzinfo=dt.UTC), dt.datetime(2024, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1))))
    assert same(math.nan, math.nan) == []
