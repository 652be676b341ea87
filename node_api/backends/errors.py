"""Errors a backend raises, each with its machine-readable code and the HTTP status it answers."""

from __future__ import annotations

from typing import Any


class BackendError(Exception):
    """Base class. `code` is the machine-readable error code clients see, `status_code` the HTTP status
    it answers (node_api/errors.py has the one handler; subclasses elsewhere, such as the staging and
    backup errors, carry their own)."""

    code = "backend_error"
    status_code = 500

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class DatabaseNotFound(BackendError):
    code = "database_not_found"
    status_code = 404


class DatabaseExists(BackendError):
    code = "database_exists"
    status_code = 409


class DatabaseBusy(BackendError):
    """The database is being created, deleted or restored right now."""

    code = "database_busy"
    status_code = 409


class CapacityExceeded(BackendError):
    """The node holds its configured maximum number of databases."""

    code = "capacity_exceeded"
    status_code = 409


class InvalidQuery(BackendError):
    """Syntax, binding or type errors in the query: the caller's fault."""

    code = "invalid_query"
    status_code = 400


class InvalidParameter(InvalidQuery):
    """A query parameter the engine has no form for, or would corrupt; details name the `parameter`."""

    code = "invalid_parameter"
    status_code = 400


class InvalidSchema(BackendError):
    code = "invalid_schema"
    status_code = 400


class QueryForbidden(BackendError):
    """A statement that would reach the node's files, other databases or engine settings."""

    code = "forbidden_statement"
    status_code = 403


class QueryTimeout(BackendError):
    code = "query_timeout"
    status_code = 408


class QueryFailed(BackendError):
    """The engine refused a well-formed query at run time (constraint violation, bad data...)."""

    code = "query_failed"
    status_code = 400


class WriteConflict(BackendError):
    code = "write_conflict"
    status_code = 409


class Overloaded(BackendError):
    """Transient: queues or memory are past their thresholds. Carries the suggested retry delay."""

    code = "overloaded"
    status_code = 503

    def __init__(self, message: str, retry_after_s: int = 1, **details: Any) -> None:
        super().__init__(message, **details)
        self.retry_after_s = retry_after_s


class InsufficientStorage(Overloaded):
    """The node's volume is below its free-space floor (GRAPH_API_MIN_FREE_DISK_MB): whatever would
    write is refused (507, Retry-After) while reads go on, so one tenant filling the volume cannot stop
    every database on it (an engine that meets a full disk mid-write can leave its WAL unusable)."""

    code = "insufficient_storage"
    status_code = 507


class Unsupported(BackendError):
    """The operation exists in the API but this backend cannot do it."""

    code = "not_supported"
    status_code = 400


class BackendUnavailable(BackendError):
    """The engine itself is unreachable (e.g. the Bolt server is down)."""

    code = "backend_unavailable"
    status_code = 503


class EngineCrashed(BackendError):
    """The database's engine process died while serving the request (a signal, an abort). Only that
    database's requests in flight fail; it reopens, with every committed transaction, on the next."""

    code = "engine_crashed"
    status_code = 500


class MemoryLimitExceeded(BackendError):
    """The database's queries passed its memory budget (or the node's) and were stopped."""

    code = "memory_limit_exceeded"
    status_code = 400


class EngineRestarted(Overloaded):
    """Transient: the database's engine was restarted (another query on it overran its budget, or the
    node closed it) while this request waited on it; retrying is safe, nothing was committed."""

    code = "engine_restarted"
    status_code = 503


class ResultTooLarge(BackendError):
    """A JSON answer would pass GRAPH_API_MAX_JSON_RESULT_BYTES: stream it (NDJSON or SSE) instead."""

    code = "result_too_large"
    status_code = 400
