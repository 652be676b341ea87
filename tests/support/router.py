"""The router API under uvicorn in a thread on 127.0.0.1, against a moto server, with SigV4 checked
against credentials issued by moto's IAM (what the local cluster does, without its processes)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import httpx
import uvicorn
from botocore.credentials import Credentials

from cluster_local.credentials import issue
from lambdas.common.aws import Aws
from lambdas.router_api.app import create_app
from lambdas.router_api.settings import RouterSettings
from tests.support.ports import free_port


def router_settings(moto_url: str, environment: str, credentials_file: Path, **env: str) -> RouterSettings:
    values = {"ENVIRONMENT": environment, "AWS_ENDPOINT_URL": moto_url, "AWS_REGION": "us-east-1",
              "ROUTER_AUTH_MODE": "sigv4", "ROUTER_CREDENTIALS_FILE": str(credentials_file), **env}
    return RouterSettings(**values)


def issue_credentials(moto_url: str, path: Path, user: str = "router-client") -> Credentials:
    return issue(boto3.client("iam", endpoint_url=moto_url, region_name="us-east-1"), user, path)


@contextmanager
def running_router(settings: RouterSettings, **app_kwargs: Any) -> Iterator[str]:
    """The URL of a router API serving `settings` until the block ends."""
    port = free_port()
    app = create_app(settings, aws=Aws(settings), **app_kwargs)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="router-api", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "router API did not start"
        time.sleep(0.02)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(10)


def health(url: str) -> dict[str, Any]:
    return httpx.get(url + "/health", timeout=5, trust_env=False).json()
