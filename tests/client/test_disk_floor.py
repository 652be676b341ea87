"""A node whose volume is below its free-space floor (507 insufficient_storage): the clients raise a
typed error, do not retry the write, and do not open the node's circuit, since its reads go on."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from client import GraphClient, InsufficientStorageError
from tests.support.live_node import LiveNode
from tests.support.node import API_KEY


@pytest.fixture(scope="module")
def full_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNode]:
    base = tmp_path_factory.mktemp("disk-floor") / "dbs"
    with LiveNode(base) as node:  # a graph with a row, while the floor is off
        with GraphClient(node.url, API_KEY) as c:
            c.create_database("g", "custom", custom_ddl="CREATE NODE TABLE P(id INT64, PRIMARY KEY(id))")
            c.query("g", "CREATE (:P {id: 1})")
    stats = os.statvfs(base)
    floor_mb = ((stats.f_bavail * stats.f_frsize) >> 20) + 10_240  # above the real free space
    with LiveNode(base, env={"GRAPH_API_MIN_FREE_DISK_MB": str(floor_mb)}) as node:
        yield node


def test_writes_raise_a_typed_error_and_reads_keep_the_circuit_closed(full_node: LiveNode) -> None:
    with GraphClient(full_node.url, API_KEY, breaker_threshold=2) as c:
        for _ in range(3):  # past the breaker's threshold
            with pytest.raises(InsufficientStorageError) as raised:
                c.query("g", "CREATE (:P {id: 2})")
            assert raised.value.status_code == 507 and raised.value.retry_after
        assert c.query("g", "MATCH (p:P) RETURN count(p)").rows == [[1]]
    log = Path(full_node.log_path).read_text()
    assert log.count('"http_status": 507') == 3  # each write sent once: not retried
