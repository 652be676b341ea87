"""Schemathesis over the node API's own OpenAPI document, against a real node process.

Every operation gets generated requests, valid and invalid (`positive` and `negative` modes), with
the API key. What must hold for every answer:
- no 5xx, except a deliberate 503 that carries `Retry-After` (admission control, overload);
- a documented status's body matches its schema; the content type is the documented one;
- every error (4xx/5xx) has the node's one error body `{"error": {"code", "message", ...}, "request_id"}`.

Bounded for CI: few examples per operation, derandomized (the same cases each run), no deadline.
A node process (not the ASGI app in this process) so the lifespan, the middleware and uvicorn's
HTTP parsing are the production ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.support.live_node import LiveNode
from tests.support.node import API_KEY, PERSON_DDL

MAX_EXAMPLES = 15
HEADERS = {"X-Graph-API-Key": API_KEY}


@pytest.fixture(scope="module")
def fuzz_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNode]:
    base = tmp_path_factory.mktemp("fuzz")
    node = LiveNode(Path(base) / "dbs", env={"KUZU_MAX_DATABASES_PER_NODE": "40", "KUZU_QUERY_TIMEOUT": "5",
                                            "KUZU_MAX_QUERY_TIMEOUT": "5"}).start()
    # A real graph, so generated requests can also reach code past the "no such database" check.
    httpx.post(f"{node.url}/databases", headers=HEADERS,
               json={"graph_id": "fuzz", "schema_type": "custom", "custom_ddl": PERSON_DDL}).raise_for_status()
    try:
        yield node
    finally:
        node.stop()


def _openapi() -> dict:
    # The app's own document, built without starting it (the live node serves the same one; checked below).
    from node_api.app import create_app
    from node_api.settings import NodeSettings

    return create_app(NodeSettings(api_key=API_KEY)).openapi()


# Loaded at import, not through `schemathesis.pytest.from_fixture`: its lazy loader sets
# `request.node._nodeid`, which pytest 9 no longer has (schemathesis 4.32.5).
schema = schemathesis.openapi.from_dict(_openapi())


def no_server_error_but_deliberate_503(ctx: object, response: schemathesis.Response, case: schemathesis.Case) -> None:
    status = response.status_code
    if status == 503:
        assert response.headers.get("retry-after"), "503 without a Retry-After header"
    else:
        assert status < 500, f"server error {status}: {response.text[:500]}"


def error_body_shape(ctx: object, response: schemathesis.Response, case: schemathesis.Case) -> None:
    if response.status_code < 400:
        return
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), f"not the error body: {response.text[:300]}"
    assert isinstance(body["error"].get("code"), str) and isinstance(body["error"].get("message"), str)
    assert isinstance(body.get("request_id"), str)


def documented_success_matches_schema(ctx: object, response: schemathesis.Response, case: schemathesis.Case) -> None:
    # 422 is documented as FastAPI's default `{"detail": [...]}`, while the node answers its own error
    # body (docs/node-api.md); that mismatch is tested on its own below, here only the answers.
    if response.status_code < 400 or response.status_code == 503:
        response_schema_conformance(ctx, response, case)  # type: ignore[arg-type]


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_node_api_holds_its_contract_under_generated_requests(case: schemathesis.Case, fuzz_node: LiveNode) -> None:
    case.call_and_validate(
        base_url=fuzz_node.url, headers=HEADERS, timeout=30,
        checks=[no_server_error_but_deliberate_503, error_body_shape, documented_success_matches_schema,
                content_type_conformance],
    )


def test_the_node_serves_the_document_that_was_fuzzed(fuzz_node: LiveNode) -> None:
    assert httpx.get(f"{fuzz_node.url}/openapi.json").json() == _openapi()


def test_documented_validation_error_matches_the_real_one(fuzz_node: LiveNode) -> None:
    document = httpx.get(f"{fuzz_node.url}/openapi.json").json()
    documented = document["paths"]["/databases"]["post"]["responses"]["422"]["content"]["application/json"]["schema"]
    real = httpx.post(f"{fuzz_node.url}/databases", headers=HEADERS, json={"graph_id": 5}).json()
    ref = documented.get("$ref", "").rsplit("/", 1)[-1]
    properties = document["components"]["schemas"][ref]["properties"] if ref else documented.get("properties", {})
    assert set(real) <= set(properties), f"documented {sorted(properties)}, answered {sorted(real)}"
