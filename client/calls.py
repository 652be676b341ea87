"""An endpoint's request/response mapping, written once and run by either transport.

An endpoint is a method that returns a `Call` (path parameters, body, how to read the answer, whether
it may be retried). Decorated with `@endpoint(method, path)` (one answer) or `@rows_endpoint`
(a streamed result), it becomes on `GraphClient` a method returning the parsed answer, and on
`AsyncGraphClient` a coroutine method (or an async row stream). The transports only send.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, overload
from urllib.parse import quote

import httpx

if TYPE_CHECKING:
    from client.aio import AsyncGraphClient
    from client.streams import AsyncRowStream, RowStream
    from client.sync import GraphClient

P = ParamSpec("P")
R = TypeVar("R")

JSON = "application/json"
NDJSON = "application/x-ndjson"
SSE = "text/event-stream"


@dataclass(frozen=True)
class Call(Generic[R]):
    parse: Callable[[httpx.Response], R]
    path_params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    params: dict[str, Any] | None = None
    accept: str = JSON
    streamed: bool = False  # the caller reads the body as it arrives (and closes it)
    idempotent: bool = True
    retry_writes: bool = False  # the caller accepts that a retried write may run twice
    # Non-2xx statuses that are answers rather than errors (GET /status answers 503 with its body).
    answer_statuses: frozenset[int] = field(default_factory=frozenset)
    read_timeout_s: float | None = None  # longer than the client's default when a query may run longer
    # Filled from the decorator: the route as the node's OpenAPI names it.
    method: str = "GET"
    path: str = "/"

    @property
    def url_path(self) -> str:
        # Quoted, so a value can never step into another path segment.
        return self.path.format(**{k: quote(str(v), safe="") for k, v in self.path_params.items()})


def parse_model(cls: Any) -> Callable[[httpx.Response], Any]:
    return lambda response: cls.model_validate(response.json())


def parse_list(cls: Any) -> Callable[[httpx.Response], list[Any]]:
    return lambda response: [cls.model_validate(item) for item in response.json()]


def no_body(response: httpx.Response) -> None:
    return None


class Endpoint(Generic[P, R]):
    """One answer: `GraphClient` returns it, `AsyncGraphClient` returns a coroutine of it."""

    def __init__(self, method: str, path: str, build: Callable[Concatenate[Any, P], Call[R]]) -> None:
        self.method, self.path, self.build = method, path, build
        # typeshed wants a callable wrapper; update_wrapper only copies attributes (name, doc, module).
        functools.update_wrapper(self, build)  # type: ignore[arg-type]

    def call(self, obj: Any, *args: Any, **kwargs: Any) -> Call[R]:
        return replace(self.build(obj, *args, **kwargs), method=self.method, path=self.path)

    @overload
    def __get__(self, obj: None, owner: Any) -> Endpoint[P, R]: ...
    @overload
    def __get__(self, obj: GraphClient, owner: Any) -> Callable[P, R]: ...
    @overload
    def __get__(self, obj: AsyncGraphClient, owner: Any) -> Callable[P, Awaitable[R]]: ...

    def __get__(self, obj: Any, owner: Any) -> Any:
        if obj is None:
            return self

        @functools.wraps(self.build)
        def bound(*args: Any, **kwargs: Any) -> Any:
            return obj._execute(self.call(obj, *args, **kwargs))

        return bound


class RowsEndpoint(Endpoint[P, None]):
    """A streamed result: `GraphClient` returns a `RowStream`, `AsyncGraphClient` an `AsyncRowStream`."""

    @overload  # type: ignore[override]
    def __get__(self, obj: None, owner: Any) -> RowsEndpoint[P]: ...
    @overload
    def __get__(self, obj: GraphClient, owner: Any) -> Callable[P, RowStream]: ...
    @overload
    def __get__(self, obj: AsyncGraphClient, owner: Any) -> Callable[P, AsyncRowStream]: ...

    def __get__(self, obj: Any, owner: Any) -> Any:
        if obj is None:
            return self

        @functools.wraps(self.build)
        def bound(*args: Any, **kwargs: Any) -> Any:
            return obj._stream_rows(self.call(obj, *args, **kwargs))

        return bound


def endpoint(method: str, path: str) -> Callable[[Callable[Concatenate[Any, P], Call[R]]], Endpoint[P, R]]:
    return lambda build: Endpoint(method, path, build)


def rows_endpoint(method: str, path: str) -> Callable[[Callable[Concatenate[Any, P], Call[None]]], RowsEndpoint[P]]:
    return lambda build: RowsEndpoint(method, path, build)
