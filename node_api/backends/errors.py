"""Errors a backend raises. They carry no HTTP status: node_api/errors.py maps each to one."""

from __future__ import annotations

from typing import Any


class BackendError(Exception):
    """Base class. `code` is the machine-readable error code clients see."""

    code = "backend_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class DatabaseNotFound(BackendError):
    code = "database_not_found"


class DatabaseExists(BackendError):
    code = "database_exists"


class DatabaseBusy(BackendError):
    """The database is being created, deleted or restored right now."""

    code = "database_busy"


class CapacityExceeded(BackendError):
    """The node holds its configured maximum number of databases."""

    code = "capacity_exceeded"


class InvalidQuery(BackendError):
    """Syntax, binding or type errors in the query: the caller's fault."""

    code = "invalid_query"


class InvalidParameter(InvalidQuery):
    """A query parameter the engine has no form for, or would corrupt; details name the `parameter`."""

    code = "invalid_parameter"


class InvalidSchema(BackendError):
    code = "invalid_schema"


class QueryForbidden(BackendError):
    """A statement that would reach the node's files, other databases or engine settings."""

    code = "forbidden_statement"


class QueryTimeout(BackendError):
    code = "query_timeout"


class QueryFailed(BackendError):
    """The engine refused a well-formed query at run time (constraint violation, bad data...)."""

    code = "query_failed"


class WriteConflict(BackendError):
    code = "write_conflict"


class Overloaded(BackendError):
    """Transient: queues or memory are past their thresholds. Carries the suggested retry delay."""

    code = "overloaded"

    def __init__(self, message: str, retry_after_s: int = 1, **details: Any) -> None:
        super().__init__(message, **details)
        self.retry_after_s = retry_after_s


class Unsupported(BackendError):
    """The operation exists in the API but this backend cannot do it."""

    code = "not_supported"


class BackendUnavailable(BackendError):
    """The engine itself is unreachable (e.g. the Bolt server is down)."""

    code = "backend_unavailable"


class EngineCrashed(BackendError):
    """The database's engine process died while serving the request (a signal, an abort). Only that
    database's requests in flight fail; it reopens, with every committed transaction, on the next."""

    code = "engine_crashed"


class MemoryLimitExceeded(BackendError):
    """The database's queries passed its memory budget (or the node's) and were stopped."""

    code = "memory_limit_exceeded"


class EngineRestarted(Overloaded):
    """Transient: the database's engine was restarted (another query on it overran its budget, or the
    node closed it) while this request waited on it; retrying is safe, nothing was committed."""

    code = "engine_restarted"


class ResultTooLarge(BackendError):
    """A JSON answer would pass GRAPH_API_MAX_JSON_RESULT_BYTES: stream it (NDJSON or SSE) instead."""

    code = "result_too_large"
