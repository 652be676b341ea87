from __future__ import annotations

import pytest

from tests.support.node import PERSON_DDL, create_db, node_client


@pytest.fixture
async def db(client):
    await create_db(client, "g", ddl=PERSON_DDL)
    return client


async def test_malformed_json_is_400(db):
    response = await db.post("/databases/g/query", content=b'{"cypher": "RETURN 1"', headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


async def test_body_without_json_content_type_is_415(db):
    response = await db.post("/databases/g/query", content=b'{"cypher": "RETURN 1"}',
                             headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


@pytest.mark.parametrize("body", [
    {"cypher": 5}, {"cypher": ["RETURN 1"]}, {"cypher": "RETURN 1", "parameters": [1]},
    {"cypher": "RETURN 1", "timeout": "soon"}, {"cypher": "RETURN 1", "timeout": -1}, {}, [], "RETURN 1",
    {"cypher": "RETURN 1", "unknown": True},
])
async def test_wrong_types_are_422(db, body):
    response = await db.post("/databases/g/query", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["details"]


async def test_oversized_body_is_413(settings_factory):
    async with node_client(settings_factory(max_body_bytes=2048)) as client:
        await create_db(client, "g", ddl=PERSON_DDL)
        big = {"cypher": "RETURN $x", "parameters": {"x": "y" * 5000}}
        response = await client.post("/databases/g/query", json=big)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"

        async def chunked():
            for _ in range(10):
                yield b" " * 1000

        response = await client.post("/databases/g/query", content=chunked(),
                                     headers={"content-type": "application/json"})
        assert response.status_code == 413


async def test_unknown_route_and_method(db):
    assert (await db.get("/nothing")).json()["error"]["code"] == "not_found"
    response = await db.put("/databases/g/query", json={})
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


async def test_bad_parameter_type_for_engine(db):
    response = await db.post("/databases/g/query",
                             json={"cypher": "MATCH (p:Person) WHERE p.id = $id RETURN p", "parameters": {"id": {"a": [1]}}})
    assert response.status_code == 400
    assert "error" in response.json()


async def test_request_id_is_echoed(db):
    response = await db.get("/databases", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    error = await db.get("/databases/nothere")
    assert error.json()["request_id"] == error.headers["x-request-id"]
