"""The HTTP client the contract scenarios share (kept out of conftest so tests can import it)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from node_api.backends.base import GraphBackend


@dataclass
class Api:
    kind: str
    client: httpx.AsyncClient
    app: FastAPI

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
