"""Where staged data comes from, and the throw-away DuckDB connection that reads it.

A tenant names Parquet files by pattern (`s3://bucket/prefix/*.parquet`, or `file://` / an absolute
path under GRAPH_API_STAGING_LOCAL_ROOT in development). The reader is an in-memory DuckDB with
httpfs loaded from the wheel, a secret scoped to that one bucket, and then locked: external access
off except `allowed_directories` = the pattern's own fixed prefix, configuration locked. So the
pattern can reach nothing beyond the directory it names, whatever it contains.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import duckdb

from node_api.core.logs import get_logger
from node_api.core.staging.errors import (
    AccessDenied,
    InvalidSource,
    NotParquet,
    SchemaMismatch,
    SourceNotFound,
    SourceUnreachable,
    StagingError,
    StagingInternalError,
)
from node_api.core.staging.extensions import BASE_CONFIG, DuckDBConfig, httpfs_extension_path
from node_api.core.staging.settings import StagingSettings

log = get_logger(__name__)

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_GLOB_CHARS = re.compile(r"[*?\[{]")


@dataclass(frozen=True)
class S3Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class Source:
    pattern: str  # what DuckDB reads
    allowed_prefix: str  # the directory the reader may touch (ends with "/")
    bucket: str | None  # None for local files

    @property
    def is_s3(self) -> bool:
        return self.bucket is not None


def _fixed_prefix(path: str) -> str:
    """The part of a pattern before its first glob character, cut back to a directory."""
    match = _GLOB_CHARS.search(path)
    head = path if match is None else path[: match.start()]
    return head[: head.rfind("/") + 1]


def parse_source(pattern: str, settings: StagingSettings, *, own_credentials: bool) -> Source:
    pattern = pattern.strip()
    if not pattern or len(pattern) > 1024 or any(c in pattern for c in "'\"\\\x00\n\r"):
        raise InvalidSource("s3_pattern must be 1-1024 characters without quotes, backslashes or newlines")
    if pattern.startswith("s3://"):
        return _parse_s3(pattern, settings, own_credentials=own_credentials)
    if pattern.startswith("file://") or pattern.startswith("/"):
        return _parse_local(pattern, settings)
    raise InvalidSource(f"unsupported source {pattern!r}: use s3://bucket/path/*.parquet")


def _parse_s3(pattern: str, settings: StagingSettings, *, own_credentials: bool) -> Source:
    parts = urlsplit(pattern)
    bucket, key = parts.netloc, parts.path.lstrip("/")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise InvalidSource(f"invalid S3 bucket name {bucket!r}")
    if not key or parts.query or parts.fragment:
        raise InvalidSource(
            "s3_pattern needs a key or glob after the bucket, e.g. s3://bucket/path/*.parquet"
        )
    if any(seg in (".", "..") for seg in key.split("/")):
        raise InvalidSource("s3_pattern may not contain '.' or '..' path segments")
    prefix = f"s3://{bucket}/{_fixed_prefix(key)}"
    if own_credentials and settings.allowed_s3_prefixes:
        allowed = [p if p.startswith("s3://") else f"s3://{p}" for p in settings.allowed_s3_prefixes]
        if not any(prefix.startswith(a if a.endswith("/") else a + "/") for a in allowed):
            raise InvalidSource(f"the node may not read {prefix!r} with its own credentials")
    return Source(pattern=f"s3://{bucket}/{key}", allowed_prefix=prefix, bucket=bucket)


def _parse_local(pattern: str, settings: StagingSettings) -> Source:
    if settings.local_root is None:
        raise InvalidSource("local paths are disabled on this node (GRAPH_API_STAGING_LOCAL_ROOT unset)")
    path = pattern.removeprefix("file://")
    if not path.startswith("/") or any(seg in (".", "..") for seg in path.split("/")):
        raise InvalidSource("local paths must be absolute, without '.' or '..' segments")
    root = settings.local_root.resolve()
    prefix_dir = Path(_fixed_prefix(path) or "/").resolve()
    if prefix_dir != root and root not in prefix_dir.parents:
        # The root is named (in details, as backups name their backup_root): it is the operator's
        # development setting, already known to whoever uses that node; production nodes leave it
        # unset and refuse every local path above without naming anything.
        raise InvalidSource(f"{pattern!r} is outside the allowed local root", local_root=str(root))
    rest = path[len(_fixed_prefix(path)) :]
    return Source(pattern=f"{prefix_dir}/{rest}", allowed_prefix=f"{prefix_dir}/", bucket=None)


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _node_credentials(settings: StagingSettings) -> S3Credentials | None:
    key = settings.aws_access_key_id.get_secret_value()
    if key:
        token = settings.aws_session_token.get_secret_value() or None
        return S3Credentials(key, settings.aws_secret_access_key.get_secret_value(), token)
    # No static keys: the instance role, through botocore's chain (DuckDB's own chain needs the
    # `aws` extension, which is not shipped as a wheel).
    import boto3

    creds = boto3.Session().get_credentials()
    if creds is None:
        return None
    frozen = creds.get_frozen_credentials()
    return S3Credentials(frozen.access_key, frozen.secret_key, frozen.token)


def open_reader(
    source: Source,
    settings: StagingSettings,
    credentials: S3Credentials | None = None,
    *,
    duckdb_to_duckdb: bool = False,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that can read `source` and nothing else. Close it when done.

    duckdb_to_duckdb: its Arrow output goes into another DuckDB (staging), so it keeps every DuckDB
    type (`arrow_lossless_conversion`: without it HUGEINT arrives as DECIMAL(38,0), UUID as VARCHAR,
    TIMETZ as TIME). Arrow bound for the graph engine keeps standard Arrow types instead.
    """
    config: DuckDBConfig = dict(
        BASE_CONFIG,
        threads=str(settings.reader_threads),
        memory_limit=settings.duckdb_memory_limit,
    )
    con = duckdb.connect(":memory:", config=config)
    try:
        if source.is_s3:
            con.execute(f"LOAD {_sql_str(str(httpfs_extension_path()))}")
            creds = credentials or _node_credentials(settings)
            options = [
                "TYPE s3",
                f"REGION {_sql_str((credentials and credentials.region) or settings.s3_region)}",
                f"SCOPE {_sql_str(f's3://{source.bucket}')}",
            ]
            if creds is not None:
                options += [
                    f"KEY_ID {_sql_str(creds.access_key_id)}",
                    f"SECRET {_sql_str(creds.secret_access_key)}",
                ]
                # Always set: left out, DuckDB fills it from AWS_SESSION_TOKEN in the node's environment,
                # mixing the node's token into a caller's own keys (S3 then answers InvalidToken).
                options.append(f"SESSION_TOKEN {_sql_str(creds.session_token or '')}")
            if settings.s3_endpoint_url:
                endpoint = urlsplit(settings.s3_endpoint_url)
                options += [
                    f"ENDPOINT {_sql_str(endpoint.netloc)}",
                    "URL_STYLE 'path'",
                    f"USE_SSL {'true' if endpoint.scheme == 'https' else 'false'}",
                ]
            con.execute(f"CREATE TEMPORARY SECRET staging_source ({', '.join(options)})")
        # Footers are read to unify the files' schemas, then again by the data read: parse them once
        # and HEAD each file once (measured on 50 files: 202 requests without these, 101 with; the
        # plain glob read makes 51). The reader lives for one request, so nothing goes stale.
        con.execute("SET parquet_metadata_cache = true")
        con.execute("SET enable_http_metadata_cache = true")
        if duckdb_to_duckdb:
            con.execute("SET arrow_lossless_conversion = true")
        con.execute(f"SET allowed_directories = [{_sql_str(source.allowed_prefix)}]")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def classify_read_error(exc: duckdb.Error, source: Source, files: Sequence[str] = ()) -> StagingError:
    """DuckDB's reading errors, by cause, in the API's words; DuckDB's own text goes to the log.

    HTTP status first (DuckDB's HTTPException carries it): 404 -> source_not_found, 401/403 ->
    access_denied, anything else after DuckDB's retries -> source_unreachable. Then the exception
    class: IOException is the network or the file system, InvalidInputException a file that is not
    Parquet (no magic bytes, corrupt footer), ConversionException a value that does not fit the
    unified type. The file is named when DuckDB's message names one of `files`.
    """
    text = str(exc)
    file = next((f for f in sorted(files, key=len, reverse=True) if f in text), None)
    where = {"pattern": source.pattern, **({"file": file} if file else {})}
    log.warning("staging read failed", pattern=source.pattern, duckdb_error=text[:2000])
    subject = file or source.pattern
    status = getattr(exc, "status_code", None) if isinstance(exc, duckdb.HTTPException) else None
    if status == 404:
        if "NoSuchBucket" in text:
            return SourceNotFound(f"bucket {source.bucket!r} does not exist", **where)
        return SourceNotFound(f"{subject} does not exist", **where)
    if status in (401, 403):
        return AccessDenied(f"the storage refused access to {subject}", **where, http_status=status)
    if status is not None:
        return SourceUnreachable(f"the storage answered HTTP {status} for {subject}", **where, http_status=status)
    if isinstance(exc, duckdb.PermissionException):
        return InvalidSource(f"{source.pattern!r} reaches outside its own prefix", **where)
    lowered = text.lower()
    if isinstance(exc, duckdb.IOException):
        if "no files found" in lowered or "no such file" in lowered:
            return SourceNotFound(f"no files match {source.pattern!r}", **where)
        if "permission denied" in lowered:
            return AccessDenied(f"the node may not read {subject}", **where)
        return SourceUnreachable(f"the storage holding {subject} could not be reached", **where)
    if isinstance(exc, duckdb.ConversionException):
        return SchemaMismatch(f"a value in {subject} does not fit the unified column type", **where)
    if isinstance(exc, duckdb.InvalidInputException):
        return NotParquet(f"{subject} is not a readable Parquet file", **where)
    return StagingInternalError(f"reading {subject} failed unexpectedly; see the node's log", **where)
