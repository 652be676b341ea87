"""What both clients share apart from I/O: configuration, headers, request building, error checks."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import httpx

from client.calls import Call
from client.config import ClientConfig
from client.exceptions import NodeUnreachableError, error_from_response
from client.resilience import Breakers, RetryPolicy, default_breakers

API_KEY_HEADER = "X-Graph-API-Key"

# The connection was never established: the request cannot have reached the node.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class ClientBase:
    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        config: ClientConfig | None = None,
        breakers: Breakers | None = None,
        on_unreachable: Callable[[NodeUnreachableError], None] | None = None,
        **settings: Any,
    ) -> None:
        """`settings` override ClientConfig fields (e.g. max_attempts=1, timeout_s=5)."""
        overrides = dict(settings)
        if base_url is not None:
            overrides["base_url"] = base_url
        if api_key is not None:
            overrides["api_key"] = api_key
        base = config or ClientConfig()
        self.config = base.model_validate({**base.model_dump(), **overrides}) if overrides else base
        self.base_url = self.config.base_url.rstrip("/")
        self.retry_policy = RetryPolicy(self.config)
        self.breakers = breakers or default_breakers
        # The routing factory drops its cached graph -> node mapping through this.
        self._on_unreachable = on_unreachable

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"

    @property
    def circuit_state(self) -> str:
        """closed | opened | half-opened, for this node."""
        return self.breakers.state(self.base_url)

    def _http_kwargs(self) -> dict[str, Any]:
        headers = {"User-Agent": "graph-cluster-client/0.1"}
        if self.config.api_key is not None:
            headers[API_KEY_HEADER] = self.config.api_key.get_secret_value()
        return {
            "base_url": self.base_url,
            "headers": headers,
            "timeout": httpx.Timeout(self.config.timeout_s, connect=self.config.connect_timeout_s),
            "limits": httpx.Limits(max_connections=self.config.max_connections),
            "trust_env": False,  # never pick up a proxy from the environment for node traffic
        }

    def _request_id(self) -> str:
        # One id per logical call, kept across its retries, so the node's logs tie them together.
        return uuid.uuid4().hex

    def _build(self, http: httpx.Client | httpx.AsyncClient, call: Call[Any], request_id: str) -> httpx.Request:
        extensions = None
        if call.read_timeout_s is not None:
            timeout = httpx.Timeout(self.config.timeout_s, connect=self.config.connect_timeout_s,
                                    read=call.read_timeout_s)
            extensions = {"timeout": timeout.as_dict()}
        request = http.build_request(
            call.method, call.url_path, json=call.json, params=call.params,
            headers={"Accept": call.accept, "X-Request-ID": request_id},
        )
        if extensions:
            request.extensions.update(extensions)
        return request

    def _guard(self) -> AbstractContextManager[None]:
        return self.breakers.guard(self.base_url, self.config.breaker_threshold, self.config.breaker_recovery_s)

    def _unreachable(self, exc: httpx.TransportError) -> NodeUnreachableError:
        error = NodeUnreachableError(f"{self.base_url}: {type(exc).__name__}: {exc}", node=self.base_url,
                                     sent=not isinstance(exc, _NOT_SENT))
        if self._on_unreachable is not None:
            self._on_unreachable(error)
        return error

    @staticmethod
    def _is_answer(call: Call[Any], response: httpx.Response) -> bool:
        return response.is_success or response.status_code in call.answer_statuses

    @staticmethod
    def _raise_error(response: httpx.Response) -> None:
        raise error_from_response(response)
