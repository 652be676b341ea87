"""The docs stay true to the code: every setting and every route is documented."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pydantic_settings import BaseSettings

from node_api.app import create_app
from node_api.settings import NodeSettings
from tests.support.node import REPO_ROOT


def _variables(settings_class: type[BaseSettings], section: str | None = None) -> Iterator[tuple[str | None, list[str]]]:
    """(section, the environment variable names of one setting) for every setting; sections walked into."""
    for name, field in settings_class.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseSettings):
            yield from _variables(field.annotation, name)
            continue
        alias = field.validation_alias
        names = list(alias.choices) if hasattr(alias, "choices") else [alias]
        yield section, [n for n in names if isinstance(n, str)] or [name.upper()]


def test_every_setting_is_documented():
    """The node's own settings in docs/configuration.md; its sections' with their features' docs."""
    configuration = (REPO_ROOT / "docs" / "configuration.md").read_text()
    every_doc = "\n".join(p.read_text() for p in (REPO_ROOT / "docs").glob("*.md"))
    missing = [names for section, names in _variables(NodeSettings)
               if not any(f"`{n}`" in (configuration if section is None else every_doc) for n in names)]
    assert missing == []


def test_core_routes_are_documented(settings_factory):
    text = (REPO_ROOT / "docs" / "node-api.md").read_text()
    paths = create_app(settings_factory()).openapi()["paths"]
    core = {"/databases", "/databases/{graph_id}", "/databases/{graph_id}/query", "/status", "/status/live",
            "/status/databases", "/info"}
    for path in core:
        assert path in paths, path
        assert f" {path}`" in text, path


async def test_api_docs_load_from_the_node_itself(client):
    """Swagger UI and ReDoc reference only the node's own assets (fastapi-offline), so /docs works
    offline; every asset they name is served."""
    for page in ("/docs", "/redoc"):
        response = await client.get(page)
        assert response.status_code == 200, page
        html = response.text
        assert re.search(r"(?:https?:)?//", html) is None, f"{page} names another host"
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
        assert assets, page
        for asset in assets:
            assert asset.startswith("/"), asset
            assert (await client.get(asset)).status_code == 200, asset
        assert "/openapi.json" in html
    assert (await client.get("/openapi.json")).status_code == 200


async def test_openapi_declares_the_api_key_so_swagger_can_send_it(client):
    """Every route that needs the key declares the X-Graph-API-Key scheme (Swagger UI's Authorize);
    the health probes that need none declare nothing, and a request with the key works."""
    document = (await client.get("/openapi.json")).json()
    assert document["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey", "in": "header", "name": "X-Graph-API-Key",
        "description": document["components"]["securitySchemes"]["ApiKey"]["description"]}
    operations = [(path, method, operation) for path, item in document["paths"].items()
                  for method, operation in item.items()]
    open_paths = {"/status", "/status/live"}
    for path, method, operation in operations:
        expected = None if path in open_paths else [{"ApiKey": []}]
        assert operation.get("security") == expected, (method, path)
    missing = await client.get("/databases", headers={"X-Graph-API-Key": ""})
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "missing_api_key"
