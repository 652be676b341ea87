"""Fixtures of the staging suite: a real S3 (moto's threaded server on 127.0.0.1) and Parquet data.

DuckDB's httpfs talks HTTP to the endpoint, so moto's in-process mock (which patches botocore) is
not enough: the server runs on a free loopback port for the whole session.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from node_api.core.staging.settings import StagingSettings
from tests.node_api.core.staging.helpers import BUCKET, node_settings, running_node
from tests.support.aws import s3_client


@pytest.fixture(scope="session")
def s3(s3_endpoint: str):
    client = s3_client(s3_endpoint)
    for bucket in (BUCKET, "other-tenant"):
        client.create_bucket(Bucket=bucket)
    return client


@pytest.fixture
def staging_settings(s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StagingSettings:
    local_root = tmp_path / "local-root"
    local_root.mkdir()
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("GRAPH_API_STAGING_LOCAL_ROOT", str(local_root))
    monkeypatch.setenv("GRAPH_API_INGEST_QUEUE_BOUND", "2")
    monkeypatch.setenv("GRAPH_API_TASK_SHUTDOWN_GRACE", "0")
    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"  # tests/conftest.py: never real credentials
    return StagingSettings()


@pytest.fixture
def base_path(tmp_path: Path) -> Path:
    return tmp_path / "dbs"


@pytest.fixture
async def client(staging_settings: StagingSettings, base_path: Path, embedded_engine: str,
                 ) -> AsyncIterator[httpx.AsyncClient]:
    async with running_node(node_settings(base_path, backend_type=embedded_engine)) as c:
        yield c
