"""Errors of the staging and ingestion path, each with the HTTP status it means.

They subclass the backend errors, so the node's one handler (node_api/errors.py) answers each with the
error body at its `status_code`. Messages are the API's own words: engine text (DuckDB's, Kuzu's) goes
to the log, never into a message.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Self

from node_api.backends.errors import BackendError


class StagingError(BackendError):
    code = "staging_error"
    status_code = 400
    # Per-file / per-row error records a task keeps (GET /tasks/{id}/errors), beyond the message.
    records: tuple[dict[str, Any], ...] = ()

    def with_records(self, records: Iterable[dict[str, Any]]) -> Self:
        self.records = tuple(records)
        return self


class InvalidSource(StagingError):
    """The s3_pattern / path is malformed, of a refused kind, or outside what the node allows."""

    code = "invalid_source"
    status_code = 400


class SourceNotFound(StagingError):
    """Missing bucket, missing file, or no file matches the pattern."""

    code = "source_not_found"
    status_code = 404


class AccessDenied(StagingError):
    """The storage refused the credentials (HTTP 401/403 from S3, EACCES on a local file)."""

    code = "access_denied"
    status_code = 403


class SourceUnreachable(StagingError):
    """The storage did not answer (DNS, connection refused, timeouts) or answered with a server error
    after DuckDB's retries. 502: the node is fine, the storage behind it is not."""

    code = "source_unreachable"
    status_code = 502


class NotParquet(StagingError):
    """A file exists but is not readable Parquet (no footer magic, corrupt metadata, truncated)."""

    code = "not_parquet"
    status_code = 422


class StagingTableNotFound(StagingError):
    code = "staging_table_not_found"
    status_code = 404


class GraphTableNotFound(StagingError):
    code = "graph_table_not_found"
    status_code = 404


class SchemaMismatch(StagingError):
    """Files whose columns cannot be unified without losing values, or staged columns that do not
    fit the graph table (missing/extra columns, uncastable values)."""

    code = "schema_mismatch"
    status_code = 422


class DataRejected(StagingError):
    """The graph refused the data (duplicate primary keys, relationship to a missing node...)."""

    code = "data_rejected"
    status_code = 422


class StagingQueryRejected(StagingError):
    """Tenant SQL outside the allow-list (node_api/core/staging/policy.py), or refused by DuckDB's
    own lock-down."""

    code = "forbidden_statement"
    status_code = 403


class StagingQueryFailed(StagingError):
    code = "invalid_query"
    status_code = 400


class StagingQueryTimeout(StagingError):
    code = "query_timeout"
    status_code = 408


class StagingInternalError(StagingError):
    """DuckDB failed in a way the node did not expect; the detail is in the node's log."""

    code = "internal_error"
    status_code = 500


def duckdb_reason(exc: BaseException, limit: int = 300) -> str:
    """DuckDB's first line about the tenant's own SQL or data ("Referenced column "x" not found"),
    without its "Binder Error: " prefix or the LINE/caret context. Only for errors whose cause is
    the tenant's input; anything else is answered without DuckDB's text."""
    first = str(exc).split("\n", 1)[0].strip()
    head, sep, rest = first.partition(": ")
    if sep and head.endswith("Error"):
        first = rest
    return first[:limit]
