"""Errors of the staging and ingestion path.

They subclass the backend errors so the app's error mapping applies; each also carries the HTTP
status it means (`install_staging` registers one handler for the lot).
"""

from __future__ import annotations

from node_api.backends.errors import BackendError


class StagingError(BackendError):
    code = "staging_error"
    status_code = 400


class InvalidSource(StagingError):
    """The s3_pattern / path is malformed, of a refused kind, or outside what the node allows."""

    code = "invalid_source"
    status_code = 400


class SourceNotFound(StagingError):
    """Missing bucket, or no file matches the pattern."""

    code = "source_not_found"
    status_code = 404


class SourceUnreadable(StagingError):
    """The files exist but are not readable Parquet (corrupt, truncated, wrong format)."""

    code = "source_unreadable"
    status_code = 422


class StagingTableNotFound(StagingError):
    code = "staging_table_not_found"
    status_code = 404


class GraphTableNotFound(StagingError):
    code = "graph_table_not_found"
    status_code = 404


class SchemaMismatch(StagingError):
    """The staged columns do not fit the graph table (missing/extra columns, uncastable values)."""

    code = "schema_mismatch"
    status_code = 422


class DataRejected(StagingError):
    """The graph refused the data (duplicate primary keys, relationship to a missing node...)."""

    code = "data_rejected"
    status_code = 422


class StagingQueryRejected(StagingError):
    """Tenant SQL that is not a single read-only statement, or that the lock-down refused."""

    code = "forbidden_statement"
    status_code = 403


class StagingQueryFailed(StagingError):
    code = "invalid_query"
    status_code = 400


class StagingQueryTimeout(StagingError):
    code = "query_timeout"
    status_code = 408


class TaskNotFound(StagingError):
    code = "task_not_found"
    status_code = 404
