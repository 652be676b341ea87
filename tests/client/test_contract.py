"""The node's OpenAPI is the source of truth: every route has a client method, and every field the
client models require is one the node's answer declares."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from client.calls import Endpoint
from client.endpoints import MONITOR_PATH, GraphApi
from node_api.app import create_app
from tests.support.node import make_settings


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return create_app(make_settings(tmp_path_factory.mktemp("openapi"))).openapi()


def client_endpoints() -> dict[tuple[str, str], list[Endpoint[Any, Any]]]:
    found: dict[tuple[str, str], list[Endpoint[Any, Any]]] = {}
    for name in dir(GraphApi):
        attr = GraphApi.__dict__.get(name) or getattr(GraphApi, name, None)
        if isinstance(attr, Endpoint):
            found.setdefault((attr.method, attr.path), []).append(attr)
    return found


def test_every_route_has_a_client_method(openapi: dict[str, Any]) -> None:
    routes = {(method.upper(), path) for path, ops in openapi["paths"].items() for method in ops}
    covered = set(client_endpoints()) | {("GET", MONITOR_PATH)}
    assert routes - covered == set(), "routes without a client method"
    assert covered - routes == set(), "client methods for routes the node does not have"


def _schema(openapi: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in ref:
        return openapi["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]
    if ref.get("type") == "array":
        return _schema(openapi, ref["items"])
    return ref


def test_client_models_match_the_answers(openapi: dict[str, Any]) -> None:
    import client.models

    checked = 0
    for (method, path), endpoints in client_endpoints().items():
        answers = []  # the fields of each JSON answer the route declares (200 and 202 for ingest)
        for status, response in openapi["paths"][path][method.lower()].get("responses", {}).items():
            if not status.startswith("2"):
                continue  # the error body is documented on every route
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            if schema and (fields := set(_schema(openapi, schema).get("properties", {}))):
                answers.append(fields)
        if not answers:
            continue
        for ep in endpoints:
            annotation = ep.build.__annotations__["return"]  # "Call[Model]" or "Call[list[Model]]"
            name = annotation.removeprefix("Call[").removeprefix("list[").rstrip("]")
            cls = getattr(client.models, name, None)
            if cls is None:
                continue
            required = {n for n, f in cls.model_fields.items() if f.is_required()}
            assert any(required <= fields for fields in answers), (path, name, required, answers)
            checked += 1
    assert checked >= 20


def test_docs_name_every_client_method() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "clients.md").read_text()
    for endpoints in client_endpoints().values():
        for ep in endpoints:
            assert f"{ep.build.__name__}(" in docs, ep.build.__name__
