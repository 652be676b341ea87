"""A node process on 127.0.0.1 joins the cluster: it registers in the instance registry (moto's
server), heartbeats, deregisters on stop, and takes a rotated API key with no failed request."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from moto.awslambda_simple.models import LambdaSimpleBackend

from cluster_local.control_plane import LambdaContext
from contracts.api_keys import decode_secret, encode_secret
from contracts.registry import INSTANCE_REGISTRY, create_tables
from lambdas.key_rotation.handler import handler as rotation_handler
from tests.support.aws import moto_server
from tests.support.live_node import LiveNode
from tests.support.node import PERSON_DDL
from tests.support.waiting import until_sync

ENV = "itest"
SECRET = "graph-cluster/itest/api-key"
OLD_KEY = "K" * 64


@pytest.fixture
def moto_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # The rotation Lambda runs in this process (the moto server shares it): route invocations to it.
    def invoke(self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any) -> str:
        return json.dumps(rotation_handler(json.loads(body), LambdaContext("key-rotation")))

    with moto_server() as url:
        httpx.post(f"{url}/moto-api/config", json={"lambda": {"use_docker": False}}).raise_for_status()
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        monkeypatch.setenv("ENVIRONMENT", ENV)
        monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)
        yield url


def _clients(url: str) -> dict[str, Any]:
    return {name: boto3.client(name, endpoint_url=url, region_name="us-east-1")
            for name in ("dynamodb", "secretsmanager", "lambda", "iam")}


def _current_key(sm: Any) -> str:
    return decode_secret(sm.get_secret_value(SecretId=SECRET)["SecretString"])


def test_node_registers_heartbeats_and_takes_a_rotated_key(moto_url, tmp_path):
    aws = _clients(moto_url)
    create_tables(aws["dynamodb"], ENV)
    aws["secretsmanager"].create_secret(Name=SECRET, SecretString=encode_secret(OLD_KEY))
    role = aws["iam"].create_role(RoleName="rotation", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    function = aws["lambda"].create_function(
        FunctionName="key-rotation", Runtime="python3.12", Role=role,
        Handler="lambdas.key_rotation.handler.handler", Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18})

    node = LiveNode(tmp_path / "dbs", env={
        "GRAPH_API_KEY": "", "GRAPH_API_KEY_SECRET_ID": SECRET, "AWS_ENDPOINT_URL": moto_url,
        "CLUSTER_REGISTRATION_ENABLED": "true", "ENVIRONMENT": ENV, "INSTANCE_ID": "i-node1",
        "WRITER_TIER": "standard", "KUZU_MAX_DATABASES_PER_NODE": "7", "NODE_HEARTBEAT_INTERVAL_SECONDS": "0.3",
        "GRAPH_API_KEY_MISS_REFRESH_SECONDS": "0",
    }).start()
    table = INSTANCE_REGISTRY.table_name(ENV)
    try:
        row = aws["dynamodb"].get_item(TableName=table, Key={"instance_id": {"S": "i-node1"}})["Item"]
        assert row["status"]["S"] == "healthy"
        assert row["port"]["N"] == str(node.port) and row["max_databases"]["N"] == "7"
        first_beat = row["last_heartbeat"]["S"]

        with httpx.Client(base_url=node.url, timeout=30) as http:
            assert http.post("/databases", headers={"X-Graph-API-Key": OLD_KEY},
                             json={"graph_id": "g", "schema_type": "custom", "custom_ddl": PERSON_DDL}).status_code == 201
            assert http.get("/databases", headers={"X-Graph-API-Key": "wrong"}).status_code == 401

            # Traffic with whatever key Secrets Manager holds as current, before, during and after rotation.
            failures: list[int] = []
            sent = 0
            stop = threading.Event()

            def traffic() -> None:
                nonlocal sent
                sm = boto3.client("secretsmanager", endpoint_url=moto_url, region_name="us-east-1")
                while not stop.is_set():
                    response = http.post("/databases/g/query", headers={"X-Graph-API-Key": _current_key(sm)},
                                         json={"cypher": "RETURN 1"})
                    sent += 1
                    if response.status_code != 200:
                        failures.append(response.status_code)

            worker = threading.Thread(target=traffic)
            worker.start()
            try:
                until_sync(lambda: sent >= 3, what="traffic before the rotation")
                aws["secretsmanager"].rotate_secret(SecretId=SECRET, RotationLambdaARN=function["FunctionArn"],
                                                    RotationRules={"AutomaticallyAfterDays": 90})
                new_key = _current_key(aws["secretsmanager"])
                rotated_at = sent
                until_sync(lambda: sent >= rotated_at + 3, what="traffic after the rotation")
            finally:
                stop.set()
                worker.join()
            assert new_key != OLD_KEY and len(new_key) == 64
            assert sent > 5 and failures == []
            # the previous key still works within the rotation window
            assert http.get("/databases", headers={"X-Graph-API-Key": OLD_KEY}).status_code == 200
            assert http.get("/databases", headers={"X-Graph-API-Key": new_key}).status_code == 200

        def beat_after_the_graph() -> dict:
            item = aws["dynamodb"].get_item(TableName=table, Key={"instance_id": {"S": "i-node1"}})["Item"]
            return item if item.get("reported_database_count", {}).get("N") == "1" else {}

        row = until_sync(beat_after_the_graph, what="a heartbeat reporting the graph")
        assert row["last_heartbeat"]["S"] > first_beat
    finally:
        node.stop()
    row = aws["dynamodb"].get_item(TableName=table, Key={"instance_id": {"S": "i-node1"}}).get("Item")
    # no graph was allocated to it through the allocator, so the row is removed on shutdown
    assert row is None
