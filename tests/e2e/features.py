"""Which node API features are wired into the app right now (other issues land them over time).

A test of a feature that has not landed yet is marked `xfail(strict=False)` with the reason; once
the routes exist, the same test runs for real.
"""

from __future__ import annotations

from functools import lru_cache

import pytest
from pydantic import SecretStr


@lru_cache(maxsize=1)
def node_routes() -> frozenset[tuple[str, str]]:
    from node_api.app import create_app
    from node_api.settings import NodeSettings

    app = create_app(NodeSettings(api_key=SecretStr("x" * 64)))  # no lifespan: only the OpenAPI document
    paths = app.openapi()["paths"]
    return frozenset((method.upper(), path) for path, item in paths.items() for method in item)


def has_routes(*routes: str) -> bool:
    """`routes` as "METHOD /path/{param}"."""
    present = node_routes()
    return all(tuple(r.split(" ", 1)) in present for r in routes)


def requires(feature: str, *routes: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(not has_routes(*routes), reason=f"{feature} not merged yet", strict=False)


STAGING = ("staging tables and ingestion",
           "POST /databases/{graph_id}/tables", "POST /databases/{graph_id}/tables/{table_name}/ingest",
           "GET /tasks/{task_id}/status")
COPY = ("S3 copy and tasks", "POST /databases/{graph_id}/copy", "GET /tasks/{task_id}/status")
BACKUP = ("backup/restore with task status",
          "POST /databases/{graph_id}/backup", "POST /databases/{graph_id}/restore", "GET /tasks/{task_id}/status")
SQL = ("staging SQL", "POST /databases/{graph_id}/tables/query")
