"""The HTTP client the contract scenarios share (kept out of conftest so tests can import it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from node_api.backends.base import GraphBackend
from tests.support.waiting import until

API_KEY = "contract-test-key-" + "x" * 46


@dataclass
class Api:
    kind: str
    client: httpx.AsyncClient
    app: FastAPI
    staging_root: Path

    @property
    def backend(self) -> GraphBackend:
        return self.app.state.node.backend

    async def create(self, graph_id: str, ddl: str) -> httpx.Response:
        return await self.client.post("/databases", json={"graph_id": graph_id, "schema_type": "custom",
                                                          "custom_ddl": ddl})

    async def query(self, graph_id: str, cypher: str, parameters: dict | None = None, **extra: object,
                    ) -> httpx.Response:
        return await self.client.post(f"/databases/{graph_id}/query",
                                      json={"cypher": cypher, "parameters": parameters or {}, **extra})

    async def rows(self, graph_id: str, cypher: str) -> list[list[Any]]:
        response = await self.query(graph_id, cypher)
        assert response.status_code == 200, response.text
        return response.json()["rows"]

    async def stream(self, graph_id: str, cypher: str, accept: str) -> tuple[httpx.Response, list[dict[str, Any]]]:
        """A streamed query and its events as {"type": ..., **payload}, for NDJSON and SSE alike."""
        response = await self.client.post(f"/databases/{graph_id}/query", json={"cypher": cypher},
                                          headers={"Accept": accept})
        if response.status_code != 200 or accept == "application/x-ndjson":
            return response, [json.loads(line) for line in response.text.splitlines() if response.status_code == 200]
        events = []
        for block in response.text.replace("\r\n", "\n").split("\n\n"):
            fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
            if "event" in fields:
                events.append({"type": fields["event"], **json.loads(fields["data"])})
        return response, events

    async def task(self, accepted: httpx.Response, timeout_s: float = 60) -> dict[str, Any]:
        """Polls GET /tasks/{task_id}/status until the task ends."""
        assert accepted.status_code == 202, accepted.text
        url = accepted.json()["status_url"]

        async def finished() -> dict[str, Any] | None:
            task = (await self.client.get(url)).json()
            return task if task["status"] in ("succeeded", "failed") else None

        return await until(finished, timeout_s=timeout_s, interval_s=0.05, what=f"task {url} finished")
