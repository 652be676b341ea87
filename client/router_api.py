"""`RouterClient`: the router API over HTTP, each request SigV4-signed with the caller's AWS
credentials (botocore's signer and credential chain), behind a circuit breaker and retries.

Every router call is safe to repeat (GET, DELETE, and POST /graphs is idempotent by graph_id), so
transport failures and 5xx answers are retried; 4xx answers become typed routing errors at once.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import boto3
import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from pydantic import BaseModel, ValidationError
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from client.config import ClientConfig
from client.exceptions import (
    AllocationError,
    CircuitOpenError,
    GraphNotRegisteredError,
    RouterAuthError,
    RouterUnavailableError,
    RoutingError,
)
from client.resilience import Breakers
from contracts.router import AllocateGraph, ErrorBody, GraphRoute, InstanceList, ReleasedGraph, RouterHealth


def sign(credentials: Credentials, *, service: str, region: str, method: str, url: str, body: bytes,
         headers: dict[str, str]) -> dict[str, str]:
    """`headers` plus Authorization, X-Amz-Date (and X-Amz-Security-Token) for this request."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(credentials, service, region).add_auth(request)
    return dict(request.headers.items())


class RouterClient:
    def __init__(self, config: ClientConfig, *, credentials: Credentials | None = None,
                 breakers: Breakers | None = None) -> None:
        if not config.router_url:
            raise ValueError("RouterClient needs config.router_url")
        self.config = config
        self.url = config.router_url.rstrip("/")
        self._credentials = credentials
        self.breakers = breakers or Breakers()
        self._http = httpx.Client(timeout=httpx.Timeout(config.router_timeout_s, connect=config.connect_timeout_s),
                                  trust_env=False)

    def close(self) -> None:
        self._http.close()

    # --- the routes ----------------------------------------------------------------------------------
    def health(self) -> RouterHealth:
        return self._call("GET", "/health", RouterHealth)

    def route(self, graph_id: str) -> GraphRoute:
        return self._call("GET", f"/graphs/{quote(graph_id, safe='')}", GraphRoute)

    def allocate(self, request: AllocateGraph) -> GraphRoute:
        return self._call("POST", "/graphs", GraphRoute, request.model_dump(mode="json", exclude_none=True))

    def release(self, graph_id: str) -> ReleasedGraph:
        return self._call("DELETE", f"/graphs/{quote(graph_id, safe='')}", ReleasedGraph)

    def instances(self) -> InstanceList:
        return self._call("GET", "/instances", InstanceList)

    # --- transport -----------------------------------------------------------------------------------
    def credentials(self) -> Credentials:
        if self._credentials is None:
            found = boto3.session.Session().get_credentials()
            if found is None:
                raise RouterAuthError("no AWS credentials to sign router requests with (the standard AWS "
                                      "credential chain found none)", "no_credentials")
            self._credentials = found
        # Refreshable credentials (instance roles, SSO) renew themselves here.
        frozen = self._credentials.get_frozen_credentials()
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token)

    def _call(self, method: str, path: str, model: type[BaseModel], payload: Any = None) -> Any:
        body = json.dumps(payload).encode() if payload is not None else b""
        retrying = Retrying(
            stop=stop_after_attempt(self.config.max_attempts),
            wait=wait_random_exponential(multiplier=self.config.backoff_initial_s, max=self.config.backoff_max_s),
            retry=retry_if_exception_type(RouterUnavailableError), reraise=True,
        )
        for attempt in retrying:
            with attempt:
                response = self._attempt(method, path, body)
        if response.is_success:
            try:
                return model.model_validate(response.json())
            except (ValueError, ValidationError):
                raise RouterUnavailableError(f"{self.url}: the router's answer is not a {model.__name__}") from None
        raise self._error(response)

    def _attempt(self, method: str, path: str, body: bytes) -> httpx.Response:
        url = self.url + path
        headers = {"Content-Type": "application/json"} if body else {}
        signed = sign(self.credentials(), service=self.config.router_signing_service, region=self.config.region,
                      method=method, url=url, body=body, headers=headers)
        try:
            with self.breakers.guard(self.url, self.config.breaker_threshold, self.config.breaker_recovery_s):
                try:
                    response = self._http.request(method, url, content=body, headers=signed)
                except httpx.TransportError as exc:
                    raise RouterUnavailableError(f"{self.url}: {type(exc).__name__}: {exc}") from None
                if response.status_code >= 500 and _code(response) != "no_capacity":
                    raise RouterUnavailableError(f"{self.url}: {response.status_code} {_message(response)}",
                                                 _code(response) or "router_unavailable")
        except CircuitOpenError as exc:
            raise RouterUnavailableError(str(exc), "circuit_open", retry_in_s=exc.retry_in_s) from None
        return response

    def _error(self, response: httpx.Response) -> RoutingError:
        code, message = _code(response) or "http_error", _message(response)
        if response.status_code in (401, 403):
            return RouterAuthError(f"the router refused the request: {message}", code)
        if code == "graph_not_found":
            return GraphNotRegisteredError(message)
        if code in ("conflict", "no_capacity"):
            return AllocationError(message, code)
        return RoutingError(f"{response.status_code} {code}: {message}", code)


def _body(response: httpx.Response) -> ErrorBody | None:
    try:
        return ErrorBody.model_validate(response.json())
    except (ValueError, ValidationError):
        return None


def _code(response: httpx.Response) -> str | None:
    body = _body(response)
    return body.error.code if body else None


def _message(response: httpx.Response) -> str:
    body = _body(response)
    return body.error.message if body else (response.text[:200] or response.reason_phrase)
