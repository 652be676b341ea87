"""Fixtures for the node API: an in-process app over httpx, and a real node process on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from node_api.settings import NodeSettings
from tests.support.live_node import LiveNode
from tests.support.node import make_settings, node_client


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., NodeSettings]:
    return lambda **overrides: make_settings(tmp_path / "dbs", **overrides)


@pytest.fixture
async def client(settings_factory: Callable[..., NodeSettings]) -> AsyncIterator[httpx.AsyncClient]:
    async with node_client(settings_factory()) as c:
        yield c


@pytest.fixture
def live_node(tmp_path: Path) -> Iterator[LiveNode]:
    with LiveNode(tmp_path / "dbs") as node:
        yield node
