"""The docs stay true to the code: every setting and every route is documented."""

from __future__ import annotations

from node_api.app import create_app
from node_api.settings import NodeSettings
from tests.node_api.conftest import REPO_ROOT


def test_every_setting_is_documented():
    text = (REPO_ROOT / "docs" / "configuration.md").read_text()
    for field in NodeSettings.model_fields.values():
        alias = field.validation_alias
        names = alias.choices if hasattr(alias, "choices") else [alias]
        assert any(f"`{n}`" in text for n in names), names


def test_core_routes_are_documented(settings_factory):
    text = (REPO_ROOT / "docs" / "node-api.md").read_text()
    paths = create_app(settings_factory()).openapi()["paths"]
    core = {"/databases", "/databases/{graph_id}", "/databases/{graph_id}/query", "/status", "/status/live",
            "/status/databases", "/info"}
    for path in core:
        assert path in paths, path
        assert f" {path}`" in text, path
