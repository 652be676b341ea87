"""API keys: every protected operation refuses a missing, wrong or near-miss key, and a rotated-out
key once the rotation window has closed; the public health endpoints need none."""

from __future__ import annotations

import httpx
import pytest

from cluster_local import LocalCluster
from cluster_local.config import NodeSpec
from tests.e2e.features import node_routes
from tests.node_api.security.conftest import ROTATION_WINDOW_S
from tests.support.waiting import until_sync

PUBLIC = {("GET", "/status"), ("GET", "/status/live"), ("GET", "/openapi.json"), ("GET", "/docs"),
          ("GET", "/docs/oauth2-redirect"), ("GET", "/redoc")}


def protected_operations() -> list[tuple[str, str]]:
    ops = sorted((m, p.replace("{graph_id}", "tenant_a").replace("{table_name}", "Person")
                  .replace("{task_id}", "task_x")) for m, p in node_routes() if (m, p) not in PUBLIC and m != "HEAD")
    assert len(ops) >= 8
    return ops


def bad_keys(good: str) -> dict[str, dict[str, str]]:
    return {
        "missing": {}, "empty": {"X-Graph-API-Key": ""}, "wrong": {"X-Graph-API-Key": "x" * 64},
        "prefix": {"X-Graph-API-Key": good[:-1]}, "longer": {"X-Graph-API-Key": good + "A"},
        "case-flipped": {"X-Graph-API-Key": good.swapcase()}, "other header": {"Authorization": f"Bearer {good}"},
        "query string": {},  # the key as ?api_key= is not a key
    }


@pytest.mark.parametrize(("method", "path"), protected_operations())
def test_protected_operations_refuse_bad_keys(secure_cluster: LocalCluster, node: NodeSpec, method: str,
                                              path: str) -> None:
    good = secure_cluster.api_key()
    with httpx.Client(base_url=node.url, timeout=10, trust_env=False) as raw:
        for name, headers in bad_keys(good).items():
            params = {"api_key": good} if name == "query string" else None
            response = raw.request(method, path, headers=headers, params=params, json={} if method == "POST" else None)
            assert response.status_code == 401, (name, response.status_code, response.text[:200])
            assert response.json()["error"]["code"] in ("missing_api_key", "invalid_api_key")
            assert good not in response.text


def test_health_endpoints_are_public(node: NodeSpec) -> None:
    for path in ("/status", "/status/live"):
        assert httpx.get(node.url + path, timeout=10).status_code == 200


def test_old_key_is_refused_after_the_rotation_window(secure_cluster: LocalCluster, node: NodeSpec) -> None:
    old = secure_cluster.api_key()
    new = secure_cluster.rotate_key()
    with httpx.Client(base_url=node.url, timeout=10, trust_env=False) as raw:
        assert raw.get("/databases", headers={"X-Graph-API-Key": new}).status_code == 200
        # Inside the window the previous key still works (clients refresh their copy meanwhile) ...
        assert raw.get("/databases", headers={"X-Graph-API-Key": old}).status_code == 200
        # ... after it (plus the node's key refresh interval) it is refused like any wrong key.
        until_sync(lambda: raw.get("/databases", headers={"X-Graph-API-Key": old}).status_code == 401,
                   timeout_s=ROTATION_WINDOW_S + 10, interval_s=0.25, what="the old key refused after the window")
        assert raw.get("/databases", headers={"X-Graph-API-Key": new}).status_code == 200
