from __future__ import annotations

import httpx
import pytest

from node_api.app import create_app
from tests.support.node import API_KEY, node_client

PROTECTED = [("GET", "/databases"), ("POST", "/databases"), ("GET", "/databases/x"), ("DELETE", "/databases/x"),
             ("POST", "/databases/x/query"), ("GET", "/info"), ("GET", "/status/databases")]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize("key", [None, "", "wrong", API_KEY[:-1], API_KEY + "x", API_KEY.upper()])
async def test_protected_routes_need_the_key(client, method, path, key):
    headers = {"X-Graph-API-Key": key} if key is not None else {}
    client.headers.pop("X-Graph-API-Key", None)
    response = await client.request(method, path, headers=headers, json={"cypher": "RETURN 1"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] in ("missing_api_key", "invalid_api_key")


async def test_right_key_passes(client):
    assert (await client.get("/databases")).status_code == 200


async def test_status_is_public(client):
    client.headers.pop("X-Graph-API-Key", None)
    assert (await client.get("/status")).status_code == 200
    assert (await client.get("/status/live")).json() == {"status": "alive"}


async def test_rotated_keys_from_a_provider(settings_factory):
    class Rotating:
        keys: tuple[str, ...] = ("old-key",)

        def valid_keys(self) -> tuple[str, ...]:
            return self.keys

    provider = Rotating()
    async with node_client(settings_factory(), key_provider=provider) as client:
        assert (await client.get("/databases", headers={"X-Graph-API-Key": "old-key"})).status_code == 200
        provider.keys = ("new-key", "old-key")  # rotation window: both accepted
        assert (await client.get("/databases", headers={"X-Graph-API-Key": "new-key"})).status_code == 200
        assert (await client.get("/databases", headers={"X-Graph-API-Key": "old-key"})).status_code == 200
        provider.keys = ("new-key",)  # window over
        assert (await client.get("/databases", headers={"X-Graph-API-Key": "old-key"})).status_code == 401


async def test_no_key_outside_dev_mode_refuses_to_start(settings_factory):
    app = create_app(settings_factory(api_key=""))
    with pytest.raises(RuntimeError, match="GRAPH_API_KEY"):
        async with app.router.lifespan_context(app):
            pass


async def test_dev_mode_without_key_is_open_and_says_so(settings_factory, capsys):
    app = create_app(settings_factory(api_key="", dev_mode=True))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://n") as client:
            assert (await client.get("/databases")).status_code == 200
