"""Fixtures of the node core's suites (backups, metrics, CloudWatch, admission): moto's S3/CloudWatch
server on 127.0.0.1, and a node in-process. tests/node_api/core/staging overrides `s3`, `base_path`
and `client` with its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.node_api.core.helpers import BUCKET, node_settings, running_node
from tests.support.aws import moto_server, s3_client


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3(aws_endpoint: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)
    monkeypatch.setenv("GRAPH_API_BACKUP_S3_BUCKET", BUCKET)
    client = s3_client(aws_endpoint)
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if BUCKET not in existing:
        client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def base_path(tmp_path: Path) -> Path:
    return tmp_path / "dbs"


@pytest.fixture
async def client(base_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with running_node(node_settings(base_path)) as c:
        yield c
