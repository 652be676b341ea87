"""Typed errors of the graph clients.

Every error the node answered carries its body: `code`, `message`, `details`, `request_id` and the
HTTP status. The class is chosen by status first, then by the error code for the few statuses that
mean more than one thing (400, and errors sent inside a stream, which have no status of their own).
"""

from __future__ import annotations

from typing import Any

import httpx


class GraphClientError(Exception):
    """Base of every error raised by the clients."""


class NodeUnreachableError(GraphClientError):
    """The node could not be reached, or the connection broke before an answer came back."""

    def __init__(self, message: str, *, node: str, sent: bool) -> None:
        super().__init__(message)
        self.node = node
        # False when the connection was never established: nothing reached the node, so even a
        # write can be sent again without running twice.
        self.sent = sent


class CircuitOpenError(GraphClientError):
    """The node's circuit breaker is open: calls fail at once until its recovery time has passed."""

    def __init__(self, node: str, retry_in_s: float) -> None:
        super().__init__(f"circuit for {node} is open; next attempt allowed in {retry_in_s:.1f}s")
        self.node = node
        self.retry_in_s = retry_in_s


class StreamInterruptedError(GraphClientError):
    """A streamed result ended without its summary or error line: the rows received are incomplete."""

    def __init__(self, rows_received: int) -> None:
        super().__init__(f"the result stream was cut after {rows_received} rows")
        self.rows_received = rows_received


class TaskFailedError(GraphClientError):
    """A background task (ingest, copy, backup, restore) ended in `failed`."""

    def __init__(self, task: Any) -> None:
        error = task.error or {}
        super().__init__(f"task {task.task_id} failed: {error.get('code')}: {error.get('message')}")
        self.task = task
        self.code: str | None = error.get("code")


class WaitTimeoutError(GraphClientError, TimeoutError):
    """The task did not finish within the time the caller was willing to wait (it may still run)."""


class RoutingError(GraphClientError):
    """Finding a graph's node failed. `code` is the router's error code when it answered one."""

    def __init__(self, message: str, code: str = "routing_error") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class GraphNotRegisteredError(RoutingError):
    """The registry has no placement for this graph (and the call was not asked to allocate one)."""

    def __init__(self, message: str, code: str = "graph_not_found") -> None:
        super().__init__(message, code)


class GraphUnavailableError(RoutingError):
    """The graph is registered but not served: its node is unhealthy (`status` unavailable), or dead
    and not yet adopted by a replacement (`orphaned`). Routes are read again after the cache TTL."""

    def __init__(self, message: str, code: str = "unavailable", *, status: str | None = None) -> None:
        super().__init__(message, code)
        self.status = status


class AllocationError(RoutingError):
    """The allocator could not place a new graph (no_capacity, or the id belongs to another owner: conflict)."""


class RouterUnavailableError(RoutingError):
    """The router API (or the registry behind it) could not be reached or failed; `retry_in_s` is set
    when its circuit breaker is open and calls fail at once."""

    def __init__(self, message: str, code: str = "router_unavailable", *, retry_in_s: float | None = None) -> None:
        super().__init__(message, code)
        self.retry_in_s = retry_in_s


class RouterAuthError(RoutingError):
    """No AWS credentials to sign router requests with, or the router refused them (401/403)."""


class RegistryUnavailableError(RoutingError):
    """Direct registry reads (inside the VPC) failed: no credentials, no such table, no endpoint."""


class GraphAPIError(GraphClientError):
    """The node answered with an error body: {"error": {"code", "message", "details"}, "request_id"}."""

    default_status = 0

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str = "error",
        details: Any = None,
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code if status_code is not None else self.default_status
        self.code = code
        self.message = message
        self.details = details if details is not None else {}
        self.request_id = request_id
        self.body = body

    def __str__(self) -> str:
        rid = f" (request {self.request_id})" if self.request_id else ""
        return f"{self.status_code} {self.code}: {self.message}{rid}"


class BadRequestError(GraphAPIError):
    """400/413/415/422: the request is wrong and sending it again will not help."""

    default_status = 400


class InvalidQueryError(BadRequestError):
    """The Cypher or SQL does not parse or bind."""


class AuthenticationError(GraphAPIError):
    default_status = 401


class ForbiddenError(GraphAPIError):
    """403: e.g. a statement the node refuses to run (forbidden_statement)."""

    default_status = 403


class NotFoundError(GraphAPIError):
    default_status = 404


class QueryTimeoutError(GraphAPIError):
    """408: the node interrupted the query at its time limit."""

    default_status = 408


class ConflictError(GraphAPIError):
    """409: exists already, busy, capacity, or a write conflict."""

    default_status = 409


class ServerError(GraphAPIError):
    """5xx."""

    default_status = 500


class BackpressureError(ServerError):
    """503/429: the node is refusing work for now; `retry_after` is the seconds it asked us to wait."""

    default_status = 503

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class InsufficientStorageError(ServerError):
    """507: the node's volume is below its free-space floor; it refuses writes (reads go on) until
    space is freed. Not retried: it lasts until an operator acts. `retry_after` is the node's hint."""

    default_status = 507

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


_BY_STATUS: dict[int, type[GraphAPIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    408: QueryTimeoutError,
    409: ConflictError,
    413: BadRequestError,
    415: BadRequestError,
    422: BadRequestError,
    429: BackpressureError,
    507: InsufficientStorageError,
}
# Codes that refine a status, and the class of errors that arrive inside a stream (no status there).
_BY_CODE: dict[str, type[GraphAPIError]] = {
    "invalid_query": InvalidQueryError,
    "query_failed": InvalidQueryError,
    "forbidden_statement": ForbiddenError,
    "query_timeout": QueryTimeoutError,
    "database_not_found": NotFoundError,
    "task_not_found": NotFoundError,
    "write_conflict": ConflictError,
    "overloaded": BackpressureError,
    "insufficient_storage": InsufficientStorageError,
    "backend_unavailable": ServerError,
}


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form; the node never sends HTTP dates)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def error_class(status: int | None, code: str | None) -> type[GraphAPIError]:
    by_code = _BY_CODE.get(code or "")
    if status is None:
        return by_code or ServerError
    if by_code is not None and by_code.default_status == status:
        return by_code
    if status == 503 and code != "backend_unavailable":
        return BackpressureError  # overloaded node, or a balancer with no healthy target
    return _BY_STATUS.get(status) or (ServerError if status >= 500 else BadRequestError)


def error_from_response(response: httpx.Response) -> GraphAPIError:
    """The typed error for a non-2xx answer (read the body first when it was streamed)."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):  # not the node's body: a proxy or load balancer answered
        error = {"code": None, "message": str(body)[:500] or response.reason_phrase}
    code = error.get("code")
    cls = error_class(response.status_code, code)
    kwargs: dict[str, Any] = {
        "status_code": response.status_code,
        "code": code or "http_error",
        "details": error.get("details"),
        "request_id": (body.get("request_id") if isinstance(body, dict) else None)
        or response.headers.get("x-request-id"),
        "body": body,
    }
    if issubclass(cls, (BackpressureError, InsufficientStorageError)):
        kwargs["retry_after"] = parse_retry_after(response.headers.get("retry-after"))
    return cls(str(error.get("message") or response.reason_phrase), **kwargs)


def error_from_event(payload: dict[str, Any], request_id: str | None) -> GraphAPIError:
    """The typed error for an `error` line of a result stream (after the 200 had been sent)."""
    error = payload.get("error") or {}
    code = error.get("code") or "stream_error"
    cls = error_class(None, code)
    return cls(str(error.get("message", "")), code=code, details=error.get("details"),
               request_id=request_id, body=payload)
