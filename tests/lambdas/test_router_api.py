"""The router API: its Lambda handler (Mangum) fed the event payloads a function URL and an API
Gateway HTTP API send, against moto in-process; then the same app over HTTP (uvicorn, SigV4 checked)
against moto's server, where concurrent allocations race for real."""

from __future__ import annotations

import base64
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model, LambdaFunctionUrlModel
from botocore.credentials import Credentials

from client.router_api import sign
from contracts.registry import InstanceItem, create_tables, now_iso
from contracts.router import ErrorBody, GraphRoute, InstanceList
from lambdas.common.aws import Aws
from lambdas.router_api import handler as router_handler
from lambdas.router_api.settings import get_router_settings
from tests.support.router import issue_credentials, router_settings, running_router

IAM_CALLER = {
    "accessKey": "AKIAIOSFODNN7EXAMPLE", "accountId": "123456789012", "callerId": "AIDACKCEVSQ6C2EXAMPLE",
    "cognitoIdentity": None, "principalOrgId": None,
    "userArn": "arn:aws:iam::123456789012:user/graph-client", "userId": "AIDACKCEVSQ6C2EXAMPLE",
}


def function_url_event(method: str, path: str, body: Any = None, *, iam: dict | None = IAM_CALLER,
                       base64_body: bool = False) -> dict[str, Any]:
    """A Lambda function URL request (payload format 2.0), as AWS documents and sends it."""
    raw = json.dumps(body) if body is not None else None
    event: dict[str, Any] = {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": {"host": "abcdefghij.lambda-url.us-east-1.on.aws", "x-amzn-tls-version": "TLSv1.3",
                    "x-forwarded-proto": "https", "x-forwarded-port": "443", "x-forwarded-for": "198.51.100.7",
                    "accept": "application/json", "user-agent": "graph-cluster-client/0.1",
                    "x-amz-date": "20250101T000000Z", "x-amzn-trace-id": "Root=1-5e1b4151-5ac6c58f5b5daa6532e4f599",
                    **({"content-type": "application/json"} if raw else {})},
        "requestContext": {
            "accountId": "123456789012", "apiId": "abcdefghij", "domainName": "abcdefghij.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abcdefghij",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "198.51.100.7",
                     "userAgent": "graph-cluster-client/0.1"},
            "requestId": str(uuid.uuid4()), "routeKey": "$default", "stage": "$default",
            "time": "01/Jan/2025:00:00:00 +0000", "timeEpoch": 1735689600000,
        },
        "isBase64Encoded": base64_body,
    }
    if iam is not None:
        event["requestContext"]["authorizer"] = {"iam": iam}
    if raw is not None:
        event["body"] = base64.b64encode(raw.encode()).decode() if base64_body else raw
    return event


def http_api_event(method: str, path: str, body: Any = None) -> dict[str, Any]:
    """An API Gateway HTTP API request with an IAM authorizer (payload format 2.0)."""
    event = function_url_event(method, path, body)
    event["routeKey"] = f"{method} {path}"
    event["requestContext"].update({"apiId": "a1b2c3d4e5", "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
                                    "domainPrefix": "a1b2c3d4e5", "routeKey": "$default", "stage": "$default"})
    event["headers"]["host"] = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
    return event


@pytest.fixture
def invoke(aws: Aws, lambda_context: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    get_router_settings.cache_clear()
    router_handler.asgi_handler.cache_clear()

    def call(event: dict[str, Any]) -> tuple[int, Any]:
        response = router_handler.handler(event, lambda_context)
        body = response.get("body") or ""
        if response.get("isBase64Encoded"):
            body = base64.b64decode(body).decode()
        return response["statusCode"], json.loads(body) if body else None

    yield call
    get_router_settings.cache_clear()
    router_handler.asgi_handler.cache_clear()


def test_events_are_the_documented_payloads() -> None:
    LambdaFunctionUrlModel.model_validate(function_url_event("POST", "/graphs", {"graph_id": "g"}))
    APIGatewayProxyEventV2Model.model_validate(http_api_event("GET", "/graphs/g"))


def test_function_url_events_route_allocate_list_and_release(invoke, put_instance) -> None:
    put_instance("i-a", private_ip="10.0.0.5", port=8001)
    status, created = invoke(function_url_event("POST", "/graphs", {"graph_id": "kg1", "entity_id": "e1"}))
    assert status == 201, created
    route = GraphRoute.model_validate(created)
    assert route.created and route.writer and route.writer.url == "http://10.0.0.5:8001"
    # Idempotent by graph_id: the same request answers 200 with the same placement.
    status, again = invoke(function_url_event("POST", "/graphs", {"graph_id": "kg1", "entity_id": "e1"}, base64_body=True))
    assert status == 200 and again["created"] is False and again["instance_id"] == "i-a"
    status, got = invoke(function_url_event("GET", "/graphs/kg1"))
    assert status == 200 and got["writer"]["instance_id"] == "i-a" and got["status"] == "active"
    status, listing = invoke(http_api_event("GET", "/instances"))
    instances = InstanceList.model_validate(listing).instances
    assert status == 200 and instances[0].graphs == ["kg1"] and instances[0].capacity.allocated == 1
    status, released = invoke(function_url_event("DELETE", "/graphs/kg1"))
    assert status == 200 and released == {"graph_id": "kg1", "instance_id": "i-a"}
    status, gone = invoke(http_api_event("GET", "/graphs/kg1"))
    assert status == 404 and ErrorBody.model_validate(gone).error.code == "graph_not_found"


def test_errors_use_the_api_body(invoke, put_instance) -> None:
    status, body = invoke(function_url_event("POST", "/graphs", {"graph_id": "../etc"}))
    assert status == 422 and body["error"]["code"] == "validation_error" and "Traceback" not in json.dumps(body)
    status, body = invoke(function_url_event("POST", "/graphs", {"graph_id": "nowhere1"}))
    assert status == 503 and body["error"]["code"] == "no_capacity"
    put_instance("i-a")
    invoke(function_url_event("POST", "/graphs", {"graph_id": "owned", "entity_id": "a"}))
    status, body = invoke(function_url_event("POST", "/graphs", {"graph_id": "owned", "entity_id": "b"}))
    assert status == 409 and body["error"]["code"] == "conflict"
    status, body = invoke(function_url_event("GET", "/graphs/bad.id"))
    assert status == 422


def test_a_request_without_an_iam_identity_is_refused(invoke) -> None:
    status, body = invoke(function_url_event("GET", "/instances", iam=None))
    assert status == 401 and body["error"]["code"] == "unauthenticated"
    status, body = invoke(function_url_event("GET", "/health", iam=None))
    assert status == 200 and body["registry"] == "ok"


def test_registry_failures_are_the_apis_words(invoke, aws: Aws) -> None:
    aws.client("dynamodb").delete_table(TableName=aws.settings.graph_table)
    status, body = invoke(function_url_event("GET", "/graphs/kg1"))
    assert status == 503 and body["error"] == {
        "code": "registry_unavailable", "message": "the registry could not be read or written; retry",
        "details": {"aws_code": "ResourceNotFoundException"}}


def test_openapi_is_published(invoke) -> None:
    status, spec = invoke(function_url_event("GET", "/openapi.json", iam=None))
    assert status == 200
    assert {"/health", "/graphs", "/graphs/{graph_id}", "/instances"} <= set(spec["paths"])
    assert set(spec["paths"]["/graphs/{graph_id}"]) == {"get", "delete"}


# --- over HTTP --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """moto's server with DynamoDB requests serialized (the local cluster's control plane does the same:
    moto's transactions are not thread-safe, DynamoDB's requests are atomic)."""
    from cluster_local.control_plane import serve
    from tests.support.ports import free_port

    port = free_port()
    server = serve(port)
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture
def served(moto_url: str, tmp_path: Path) -> Iterator[tuple[str, Credentials, Any]]:
    env = "r" + uuid.uuid4().hex[:8]
    create_tables(boto3.client("dynamodb", endpoint_url=moto_url, region_name="us-east-1"), env)
    creds_file = tmp_path / "credentials.json"
    credentials = issue_credentials(moto_url, creds_file, "router-" + env)
    settings = router_settings(moto_url, env, creds_file)
    with running_router(settings) as url:
        yield url, credentials, Aws(settings).registry


def call(url: str, credentials: Credentials, method: str, path: str, body: Any = None) -> httpx.Response:
    raw = json.dumps(body).encode() if body is not None else b""
    headers = sign(credentials, service="lambda", region="us-east-1", method=method, url=url + path, body=raw,
                   headers={"Content-Type": "application/json"} if raw else {})
    return httpx.request(method, url + path, content=raw, headers=headers, timeout=30, trust_env=False)


def put_instance_row(registry: Any, instance_id: str, slots: int) -> None:
    registry.instances.put_item(Item=InstanceItem(
        instance_id=instance_id, cluster_tier="standard", private_ip="127.0.0.1", status="healthy",
        max_databases=slots, last_heartbeat=now_iso()).to_item())


def test_over_http_every_route_needs_a_valid_signature(served) -> None:
    url, credentials, _ = served
    assert httpx.get(url + "/health", trust_env=False).json()["registry"] == "ok"
    assert httpx.get(url + "/instances", trust_env=False).status_code == 401
    assert call(url, credentials, "GET", "/instances").status_code == 200
    forged = call(url, Credentials(credentials.access_key, "not-the-secret"), "GET", "/instances")
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "forbidden"
    # A signed request replayed with another body no longer matches its signature.
    headers = sign(credentials, service="lambda", region="us-east-1", method="POST", url=url + "/graphs",
                   body=b'{"graph_id": "a1"}', headers={"Content-Type": "application/json"})
    tampered = httpx.post(url + "/graphs", content=b'{"graph_id": "b2"}', headers=headers, trust_env=False)
    assert tampered.status_code == 403
    # Signed for another service: refused.
    other = sign(credentials, service="execute-api", region="us-east-1", method="GET", url=url + "/instances",
                 body=b"", headers={})
    assert httpx.get(url + "/instances", headers=other, trust_env=False).status_code == 401


def test_concurrent_allocations_never_overfill_and_same_id_has_one_owner(served) -> None:
    url, credentials, registry = served
    put_instance_row(registry, "i-a", 3)
    put_instance_row(registry, "i-b", 3)
    # 10 distinct graphs for 6 slots, and the same graph asked for 8 times at once.
    with ThreadPoolExecutor(max_workers=9) as pool:
        distinct = list(pool.map(lambda i: call(url, credentials, "POST", "/graphs", {"graph_id": f"g{i}"}), range(10)))
        same = list(pool.map(lambda _: call(url, credentials, "POST", "/graphs", {"graph_id": "shared-id"}), range(8)))
    statuses = Counter(r.status_code for r in distinct)
    placed = [r.json() for r in same if r.status_code in (200, 201)]
    rows = {r["graph_id"]: r["instance_id"] for r in registry.graphs.scan()["Items"]}
    counts = {r["instance_id"]: int(r["database_count"]) for r in registry.instances.scan()["Items"]}
    assert sum(counts.values()) == len(rows) <= 6
    assert Counter(rows.values()) == Counter({k: v for k, v in counts.items() if v})
    assert statuses[503] == 10 - (len(rows) - ("shared-id" in rows))
    if "shared-id" in rows:
        assert {p["instance_id"] for p in placed} == {rows["shared-id"]}
        assert sum(1 for r in same if r.status_code == 201) == 1
