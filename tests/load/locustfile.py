"""Locust load profile for one node (not collected by pytest: no test_ prefix).

    .venv/bin/locust -f tests/load/locustfile.py --headless -u 100 -r 20 --run-time 30s \
        --host http://127.0.0.1:8001            # GRAPH_API_KEY=... (the node's key)

Reads dominate, with some writes and streamed results. An overload answer (503 with Retry-After)
counts as a correct answer, recorded under its own name; anything else non-2xx, or a 503 without
Retry-After, is a failure. The run stops itself after --run-time (bounded by STOP_AFTER_S anyway).
"""

from __future__ import annotations

import itertools
import os

from locust import HttpUser, between, events, task

API_KEY = os.environ.get("GRAPH_API_KEY", "test-key")
GRAPH_ID = os.environ.get("LOAD_GRAPH_ID", "load_test")
STOP_AFTER_S = float(os.environ.get("LOAD_STOP_AFTER_S", "300"))
DDL = ("CREATE NODE TABLE Person(id INT64, name STRING, PRIMARY KEY(id)); "
       "CREATE REL TABLE Knows(FROM Person TO Person, since INT64)")
_ids = itertools.count(1_000_000)


@events.test_start.add_listener
def _setup(environment, **_kwargs) -> None:  # noqa: ANN001 - locust's signature
    # The graph is created once, before any user starts: queries sent while it is being created
    # would (rightly) get 409 database_busy.
    import httpx

    answer = httpx.post(f"{environment.host}/databases", headers={"X-Graph-API-Key": API_KEY}, timeout=60,
                        json={"graph_id": GRAPH_ID, "schema_type": "custom", "custom_ddl": DDL})
    if answer.status_code not in (201, 409):
        answer.raise_for_status()
    # Self-stopping even when started without --run-time.
    if environment.runner is not None:
        import gevent

        gevent.spawn_later(STOP_AFTER_S, environment.runner.quit)


class NodeUser(HttpUser):
    wait_time = between(0.0, 0.05)

    def on_start(self) -> None:
        self.client.headers["X-Graph-API-Key"] = API_KEY

    def _query(self, name: str, cypher: str, params: dict | None = None, accept: str = "application/json") -> None:
        with self.client.post(f"/databases/{GRAPH_ID}/query", json={"cypher": cypher, "parameters": params or {}},
                              headers={"Accept": accept}, name=name, catch_response=True) as response:
            if response.status_code == 200:
                response.success()
            elif response.status_code == 503 and response.headers.get("Retry-After"):
                response.success()
                response.request_meta["name"] = f"{name} (503 shed)"
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")

    @task(8)
    def read(self) -> None:
        self._query("count", "MATCH (p:Person) RETURN count(p)")

    @task(3)
    def compute(self) -> None:
        self._query("compute", "UNWIND range(1, 20000) AS x RETURN sum(x)")

    @task(2)
    def write(self) -> None:
        self._query("write", "CREATE (:Person {id: $id, name: 'load'})", {"id": next(_ids)})

    @task(1)
    def stream(self) -> None:
        self._query("stream", "UNWIND range(1, 5000) AS i RETURN i", accept="application/x-ndjson")

    @task(1)
    def health(self) -> None:
        self.client.get("/status/live", name="live")
