"""Every type the Neo4j driver hands over (its Bolt hydration table) has a rule and a case; the types the
test server (ArcadeDB) cannot produce are encoded here from values built with the driver's classes."""

from __future__ import annotations

from neo4j.types import UnsupportedType
from neo4j.vector import Vector

from node_api.backends.neo4j.values import neo4j_value
from tests.node_api.backends.values.cases import NEO4J_CASES

# Bolt structure tags (the driver's newest hydration handler) -> the Python type they hydrate to.
TAG_TYPES = {
    b"N": "Node", b"R": "Relationship", b"r": "Relationship", b"P": "Path", b"X": "Point", b"Y": "Point",
    b"D": "Date", b"T": "Time", b"t": "Time", b"I": "DateTime", b"i": "DateTime", b"d": "DateTime",
    b"E": "Duration", b"V": "Vector", b"?": "UnsupportedType",
}
PACKSTREAM_TYPES = {"None", "bool", "int", "float", "str", "bytes", "list", "dict"}
BUILT_HERE = {"Vector", "UnsupportedType"}


def test_every_driver_type_has_a_case() -> None:
    # The hydration table is the driver's private registry; reading it is what makes a new type fail here.
    from neo4j._codec.hydration.bolt.v3.hydration_handler import HydrationHandler

    tags = set(HydrationHandler().new_hydration_scope()._struct_hydration_functions)
    assert sorted(tags - set(TAG_TYPES)) == [], "a Bolt type without a rule (node_api/backends/neo4j/values.py)"
    covered = {case.type_id for case in NEO4J_CASES} | BUILT_HERE
    assert sorted((set(TAG_TYPES.values()) | PACKSTREAM_TYPES) - covered) == []


def test_vectors_are_lists_of_numbers() -> None:
    assert neo4j_value(Vector([1.0, 2.5], "f64")) == [1.0, 2.5]
    assert neo4j_value(Vector([1, -2], "i8")) == [1, -2]
    assert neo4j_value(Vector([float("nan")], "f32")) == [{"$type": "Float", "_value": "NaN"}]


def test_a_type_newer_than_the_driver_is_named() -> None:
    value = UnsupportedType._new("Gizmo", (6, 1), None)
    assert neo4j_value(value) == {"$type": "Unsupported", "_value": "Gizmo"}
