"""How graph_ids map to server databases: the hook between the backend and database administration.

Neo4j community serves one database (SingleDatabase): the node holds one graph. A server that can hold
several gets one database per graph_id through an admin implementation. Bolt cannot do it on ArcadeDB
(`CREATE DATABASE` in Cypher is refused: "Only CREATE CONSTRAINT, CREATE INDEX and CREATE USER are
currently supported"), so ArcadeDBHttpAdmin uses its HTTP API (POST /api/v1/server). Neo4j Enterprise
(CREATE DATABASE on `system`) is the documented not-implemented edition.
"""

from __future__ import annotations

import abc

import httpx

from node_api.backends.errors import BackendUnavailable, DatabaseExists, QueryFailed, Unsupported

# ArcadeDB's Bolt plugin never switches a pooled connection back to a database with these names: a
# session for `neo4j` silently runs on whatever database the connection last used (measured).
ARCADEDB_UNSWITCHABLE = frozenset({"neo4j", "system"})


class DatabaseAdmin(abc.ABC):
    multiple: bool

    @abc.abstractmethod
    async def list(self) -> list[str]: ...

    @abc.abstractmethod
    async def create(self, name: str) -> None: ...

    @abc.abstractmethod
    async def drop(self, name: str) -> None: ...

    def database_for(self, graph_id: str) -> str:
        """The server database that holds graph_id."""
        return graph_id

    async def close(self) -> None:
        return None


class SingleDatabase(DatabaseAdmin):
    """Neo4j community: one database, named explicitly (never rely on the server default)."""

    multiple = False

    def __init__(self, name: str = "neo4j") -> None:
        self.name = name

    def database_for(self, graph_id: str) -> str:
        return self.name

    async def list(self) -> list[str]:
        return [self.name]

    async def create(self, name: str) -> None:
        raise Unsupported("this Neo4j edition serves a single database")

    async def drop(self, name: str) -> None:
        raise Unsupported("this Neo4j edition serves a single database")


class ArcadeDBHttpAdmin(DatabaseAdmin):
    """One ArcadeDB database per graph_id, created and dropped over ArcadeDB's HTTP server API."""

    multiple = True

    def __init__(self, base_url: str, username: str, password: str, *, timeout_s: float = 30.0) -> None:
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), auth=(username, password),
                                         timeout=timeout_s)

    async def _command(self, command: str) -> dict:
        try:
            response = await self._client.post("/api/v1/server", json={"command": command})
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"ArcadeDB admin API unreachable: {exc}") from None
        if response.status_code >= 400:
            text = response.text[:500]
            if "already exists" in text:
                raise DatabaseExists(f"database already exists on the server: {text}")
            raise QueryFailed(f"ArcadeDB admin command failed ({response.status_code}): {text}")
        return response.json()

    async def list(self) -> list[str]:
        return [str(n) for n in (await self._command("list databases")).get("result", [])]

    async def create(self, name: str) -> None:
        await self._command(f"create database {name}")

    async def drop(self, name: str) -> None:
        await self._command(f"drop database {name}")

    async def close(self) -> None:
        await self._client.aclose()
