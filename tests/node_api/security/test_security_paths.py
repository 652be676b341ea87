"""Path tricks in every path parameter and in the body parameters that name files, graphs or sources.

Path values are sent verbatim (http.client: no client-side normalisation of `..` or `%2F`). Nothing
may answer 2xx or 5xx, and nothing may appear, or disappear, outside the node's base path.
"""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any

import pytest

from cluster_local import LocalCluster
from cluster_local.config import HOST, NodeSpec
from tests.e2e.features import node_routes

TRICKS = [
    "..", "...", "../tenant_b", "..%2Ftenant_b", "%2e%2e", "%2e%2e%2ftenant_b", "tenant_a%2F..%2Ftenant_b",
    "%2Fetc%2Fpasswd", "..%5C..%5Ctenant_b", "tenant_a%00", "tenant_a%00.kuzu", ".creating", ".trash", ".tasks",
    ".backups", "system", "neo4j", "%C0%AE%C0%AE", "%EF%BC%8E%EF%BC%8E", "a" * 300, "tenant_a%20", "%20tenant_a",
    "tenant_a;tenant_b", "tenant_b%3F", "~root", "%24HOME",
]
BODY_TRICKS = ["..", "../tenant_b", "/etc/passwd", "tenant_a/../tenant_b", "tenant_a\x00", ".trash", "system",
               "a" * 300, "tenant_a\\..\\tenant_b", "．．"]


def raw(node: NodeSpec, key: str, method: str, path: str, body: Any = None) -> tuple[int, str]:
    connection = http.client.HTTPConnection(HOST, node.port, timeout=30)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"X-Graph-API-Key": key, "Content-Type": "application/json"}
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


def templated_operations() -> list[tuple[str, str]]:
    return sorted((m, p) for m, p in node_routes() if "{" in p and m != "HEAD")


@pytest.fixture(scope="module")
def canary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("outside") / "canary.txt"
    path.write_text("must survive")
    return path


def _snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.parent.rglob("*") if ".tasks" not in p.parts
            and "logs" not in p.parts} if root.exists() else set()


@pytest.mark.parametrize(("method", "template"), templated_operations())
def test_path_parameters_cannot_escape(secure_cluster: LocalCluster, node: NodeSpec, base_path: Path,
                                       method: str, template: str) -> None:
    key = secure_cluster.api_key()
    outside_before = {p.name for p in base_path.parent.iterdir()}
    for trick in TRICKS:
        for param in ("{graph_id}", "{table_name}", "{task_id}"):
            if param not in template:
                continue
            path = template.replace(param, trick)
            path = path.replace("{graph_id}", "tenant_a").replace("{table_name}", "Person").replace("{task_id}", "t")
            body = {} if method in ("POST", "PUT", "PATCH") else None
            status, text = raw(node, key, method, path, body)
            assert 400 <= status < 500, (method, path, status, text[:300])
            assert "must survive" not in text and "root:" not in text
    assert {p.name for p in base_path.parent.iterdir()} == outside_before
    # Both tenants are still there, intact.
    for tenant in ("tenant_a", "tenant_b"):
        status, _ = raw(node, key, "GET", f"/databases/{tenant}")
        assert status == 200


def test_graph_id_in_bodies_cannot_escape(secure_cluster: LocalCluster, node: NodeSpec, base_path: Path) -> None:
    key = secure_cluster.api_key()
    outside_before = {p.name for p in base_path.parent.iterdir()}
    for trick in BODY_TRICKS:
        status, text = raw(node, key, "POST", "/databases", {"graph_id": trick, "schema_type": "entity"})
        assert status in (400, 409, 422), (trick, status, text[:200])
        status, text = raw(node, key, "POST", "/databases/tenant_a/restore",
                           {"location": "x", "target_graph_id": trick})
        assert 400 <= status < 500, (trick, status, text[:200])
    assert {p.name for p in base_path.parent.iterdir()} == outside_before


def test_restore_locations_cannot_reach_other_files_or_tenants(secure_cluster: LocalCluster, node: NodeSpec,
                                                               canary: Path) -> None:
    key = secure_cluster.api_key()
    locations = [
        str(canary), f"file://{canary}", "/etc/passwd", "../../etc/passwd", "../tenant_b/graph.kuzu",
        ".backups/tenant_b/x.tar.zst", f"s3://{secure_cluster.config.backup_bucket}/graph-backups/tenant_b/x.tar.zst",
        f"s3://{secure_cluster.config.bucket}/anything.tar.zst", "s3://other-bucket/graph-backups/tenant_a/x.tar.zst",
        f"s3://{secure_cluster.config.backup_bucket}/graph-backups/tenant_a/../tenant_b/x.tar.zst",
        "http://169.254.169.254/latest/meta-data/", "s3://" + "a" * 1000,
    ]
    for location in locations:
        status, text = raw(node, key, "POST", "/databases/tenant_a/restore", {"location": location})
        assert 400 <= status < 500, (location, status, text[:300])
    assert canary.read_text() == "must survive"


def test_source_patterns_cannot_reach_local_files_or_metadata(secure_cluster: LocalCluster, node: NodeSpec,
                                                              canary: Path) -> None:
    key = secure_cluster.api_key()
    patterns = [
        str(canary), f"file://{canary}", "file:///etc/passwd", "/etc/passwd", "../../etc/passwd",
        f"s3://{secure_cluster.config.bucket}/../other/x.parquet", "http://169.254.169.254/latest/meta-data/",
        "https://example.com/x.parquet", "s3://bucket/x.parquet'; ATTACH '/etc/passwd", "gs://bucket/x.parquet",
    ]
    for pattern in patterns:
        for path, body in (("/databases/tenant_a/tables", {"table_name": "Person", "s3_pattern": pattern}),
                           ("/databases/tenant_a/copy", {"table_name": "Person", "s3_pattern": pattern})):
            status, text = raw(node, key, "POST", path, body)
            assert 400 <= status < 500, (path, pattern, status, text[:300])
            assert "root:" not in text and "must survive" not in text
