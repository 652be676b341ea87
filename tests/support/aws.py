"""moto's threaded server on 127.0.0.1: real HTTP, for what botocore patching cannot reach (DuckDB's
httpfs, node processes, CloudFormation deploys)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import pytest
from moto.server import ThreadedMotoServer

REGION = "us-east-1"


@contextmanager
def moto_server(port: int = 0) -> Iterator[str]:
    """The server's URL while it runs (port 0: a free one)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.stop()


def s3_client(endpoint: str):  # noqa: ANN201 - botocore's S3 client has no importable type
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """One moto server (its URL) for the suites whose S3 a real HTTP client must reach (DuckDB's
    httpfs, the clients); each suite makes its own buckets."""
    with moto_server() as endpoint:
        yield endpoint
