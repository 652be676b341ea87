"""The node API's routes, read from its OpenAPI document (the security suite walks every one)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import SecretStr


@lru_cache(maxsize=1)
def node_routes() -> frozenset[tuple[str, str]]:
    from node_api.app import create_app
    from node_api.settings import NodeSettings

    app = create_app(NodeSettings(api_key=SecretStr("x" * 64)))  # no lifespan: only the OpenAPI document
    paths = app.openapi()["paths"]
    return frozenset((method.upper(), path) for path, item in paths.items() for method in item)
