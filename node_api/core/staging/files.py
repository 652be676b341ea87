"""The Parquet files a pattern names: their footers, one unified schema, and one SQL reading them all.

`resolve` runs on the locked reader (sources.open_reader), in four steps that each read only
footers: `glob` lists the files (sorted by path), `parquet_file_metadata` gives their rows and bytes,
`parquet_schema` their columns (grouped: files with the same footer schema are read together), and
one `DESCRIBE` per group checks the schema this module rebuilt against DuckDB's own reading (if they
ever differ, DuckDB's wins and the log says so). unify.py merges the groups' columns.

`SourceFiles.select` is then one `UNION ALL` of `read_parquet([files of a group])`, each column
converted to its unified type, NULL where a group lacks it. A single schema is a plain read.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import duckdb

from node_api.core.logs import get_logger
from node_api.core.staging.errors import SchemaMismatch, SourceNotFound
from node_api.core.staging.sources import Source, classify_read_error
from node_api.core.staging.unify import (
    ColumnType,
    Conflict,
    Unrepresentable,
    column_type,
    convert,
    of_duckdb,
    quote,
    schema_tree,
    unify,
)

log = get_logger(__name__)

# DuckDB's virtual columns naming each row's file and its row number in it (shadowed by a data
# column of the same name, in which case rows cannot be traced to files).
_VIRTUAL = ("file_index", "file_row_number")
_NAMED_FILES = 10  # files named per type in a schema_mismatch message's details


@dataclass(frozen=True)
class ParquetFile:
    path: str
    rows: int
    bytes: int


@dataclass(frozen=True)
class FileGroup:
    """Files sharing one footer schema; `columns` by lower-case name, in file order."""

    files: tuple[int, ...]  # indexes into SourceFiles.files
    columns: dict[str, tuple[str, ColumnType]]


@dataclass(frozen=True)
class SourceFiles:
    source: Source
    files: list[ParquetFile]
    columns: list[tuple[str, ColumnType]]  # unified, in order of first appearance
    groups: list[FileGroup]

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def bytes(self) -> int:
        return sum(f.bytes for f in self.files)

    @property
    def traceable(self) -> bool:
        """Whether rows can carry their file and row number (no data column shadows them)."""
        return not any(name.lower() in _VIRTUAL for name, _ in self.columns)

    def column_types(self) -> list[tuple[str, str]]:
        return [(name, t.render()) for name, t in self.columns]

    def select(self, *, trace: bool = False) -> tuple[str, list[Any]]:
        """SQL + its parameters reading every file as the unified schema. trace=True adds
        `__source_file` (index into `files`) and `__source_row` (row number within the file, from 0)."""
        if trace and not self.traceable:
            raise ValueError("rows of these files cannot be traced (a column shadows file_index)")
        parts: list[str] = []
        params: list[Any] = []
        for group in self.groups:
            exprs = []
            if trace:
                exprs += [
                    "list_extract(?::BIGINT[], file_index::BIGINT + 1) AS __source_file",
                    "file_row_number AS __source_row",
                ]
                params.append(list(group.files))
            for name, target in self.columns:
                present = group.columns.get(name.lower())
                value = (
                    convert(quote(present[0]), present[1], target) if present else f"NULL::{target.render()}"
                )
                exprs.append(value if value == quote(name) else f"{value} AS {quote(name)}")
            parts.append(f"SELECT {', '.join(exprs)} FROM read_parquet(?)")
            params.append([self.files[i].path for i in group.files])
        return " UNION ALL ".join(parts), params

    def conversion_mismatch(self, exc: duckdb.Error) -> SchemaMismatch:
        """The error when a value does not fit its column's type: a widening cast (a TIMESTAMP
        beyond TIMESTAMP_NS's range), or DuckDB's own reading (a millisecond timestamp beyond its
        TIMESTAMP range). Names the converted columns, or the file DuckDB names."""
        log.warning("staging read: value out of range", duckdb_error=str(exc)[:2000])
        converted: dict[str, list[str]] = {}
        for group in self.groups:
            for name, target in self.columns:
                present = group.columns.get(name.lower())
                if present is not None and present[1] != target:
                    converted.setdefault(name, []).extend(self.files[i].path for i in group.files)
        if converted:
            columns = ", ".join(repr(c) for c in converted)
            return SchemaMismatch(
                f"a value of {columns} does not fit the type the files were unified to",
                columns=list(converted),
                files={c: paths[:_NAMED_FILES] for c, paths in converted.items()},
            )
        named = [f.path for f in self.files if f.path in str(exc)]
        where = named[0] if named else self.source.pattern
        return SchemaMismatch(f"a value in {where} is outside the range of its DuckDB type", file=where)


def resolve(reader: duckdb.DuckDBPyConnection, source: Source) -> SourceFiles:
    """Blocking (run on a worker thread). Raises the read errors of sources.classify_read_error,
    SourceNotFound when nothing matches, SchemaMismatch when the files cannot be unified."""
    try:
        paths = [
            r[0]
            for r in reader.execute("SELECT file FROM glob(?) ORDER BY file", [source.pattern]).fetchall()
        ]
    except duckdb.Error as exc:
        raise classify_read_error(exc, source) from None
    if not paths:
        raise SourceNotFound(f"no files match {source.pattern!r}", pattern=source.pattern)
    try:
        schema_rows = _footer_schemas(reader, paths)
        metadata = {  # footers cached by now (parquet_metadata_cache)
            r[0]: (int(r[1]), int(r[2]))
            for r in reader.execute(
                "SELECT file_name, num_rows, file_size_bytes FROM parquet_file_metadata(?)", [paths]
            ).fetchall()
        }
    except duckdb.Error as exc:
        raise classify_read_error(exc, source, paths) from None
    files = [ParquetFile(p, *metadata[p]) for p in paths]
    by_file: dict[str, list[tuple[Any, ...]]] = {}
    for row in schema_rows:
        by_file.setdefault(row[0], []).append(row[1:])
    groups = _groups(reader, source, files, by_file)
    return SourceFiles(source, files, _unify_groups(source, files, groups), groups)


def _footer_schemas(reader: duckdb.DuckDBPyConnection, paths: list[str]) -> list[tuple[Any, ...]]:
    """parquet_schema rows of every file. DuckDB's metadata functions read files one after the
    other, each paying the storage's latency, so chunks of files are read on parallel cursors (as
    many as the reader has threads); the footers land in the reader's metadata cache."""
    query = (
        "SELECT file_name, name, repetition_type, num_children, converted_type, logical_type, "
        "duckdb_type, precision FROM parquet_schema(?) ORDER BY file_name, column_id"
    )
    threads = int(reader.execute("SELECT current_setting('threads')").fetchone()[0])  # type: ignore[index]
    if len(paths) < 2 * threads:
        return reader.execute(query, [paths]).fetchall()
    size = -(-len(paths) // threads)
    chunks = [paths[i : i + size] for i in range(0, len(paths), size)]

    def read(chunk: list[str]) -> list[tuple[Any, ...]]:
        cursor = reader.cursor()
        try:
            return cursor.execute(query, [chunk]).fetchall()
        finally:
            cursor.close()

    with ThreadPoolExecutor(len(chunks)) as pool:
        return [row for rows in pool.map(read, chunks) for row in rows]


def _groups(
    reader: duckdb.DuckDBPyConnection,
    source: Source,
    files: list[ParquetFile],
    by_file: dict[str, list[tuple[Any, ...]]],
) -> list[FileGroup]:
    members: dict[tuple[Any, ...], list[int]] = {}
    for index, file in enumerate(files):
        rows = by_file[file.path]
        # The root's own name varies by writer ("schema", "spark_schema"): not part of the shape.
        members.setdefault((rows[0][1:], *rows[1:]), []).append(index)
    groups = []
    for indexes in members.values():
        first = files[indexes[0]]
        try:
            columns = [(node.name, column_type(node, node.name)) for node in schema_tree(by_file[first.path])]
        except Unrepresentable as exc:
            raise SchemaMismatch(
                f"column {exc.column!r} of {first.path} holds {exc.reason}; staging it would change values",
                column=exc.column,
                files=[files[i].path for i in indexes[:_NAMED_FILES]],
                file_count=len(indexes),
            ) from None
        columns = _checked_against_duckdb(reader, source, first.path, columns)
        by_lower: dict[str, tuple[str, ColumnType]] = {}
        for name, ctype in columns:
            if name.lower() in by_lower:
                raise SchemaMismatch(
                    f"{first.path} has two columns named {by_lower[name.lower()][0]!r} and {name!r}; "
                    "staging table columns ignore case",
                    file=first.path,
                    column=name,
                )
            by_lower[name.lower()] = (name, ctype)
        groups.append(FileGroup(tuple(indexes), by_lower))
    return groups


def _checked_against_duckdb(
    reader: duckdb.DuckDBPyConnection, source: Source, path: str, columns: list[tuple[str, ColumnType]]
) -> list[tuple[str, ColumnType]]:
    try:
        described = reader.execute("SELECT * FROM read_parquet(?) LIMIT 0", [[path]]).description or []
    except duckdb.Error as exc:
        raise classify_read_error(exc, source, [path]) from None
    duck = [(str(d[0]), of_duckdb(d[1])) for d in described]
    if len(duck) == len(columns) and all(
        name == d_name and ours.same_shape(theirs)
        for (name, ours), (d_name, theirs) in zip(columns, duck, strict=True)
    ):
        return columns
    # Our reading of the footer disagrees with DuckDB's (an encoding the rebuild does not know):
    # DuckDB's types are what the read produces, so they win; only NULL-typed parts are lost.
    log.warning(
        "footer schema differs from DuckDB's",
        file=path,
        ours=[t.render() for _, t in columns],
        duckdb=[t.render() for _, t in duck],
    )
    return duck


def _unify_groups(
    source: Source, files: list[ParquetFile], groups: list[FileGroup]
) -> list[tuple[str, ColumnType]]:
    unified: dict[str, tuple[str, ColumnType]] = {}
    for group in groups:
        for lower, (name, ctype) in group.columns.items():
            if lower not in unified:
                unified[lower] = (name, ctype)
                continue
            known_name, known = unified[lower]
            if known_name != name:
                raise _mismatch(
                    files, groups, lower, f"column names {known_name!r} and {name!r} differ only by case"
                )
            try:
                unified[lower] = (known_name, unify(known, ctype, known_name))
            except Conflict as exc:
                reason = (
                    exc.reason
                    or f"{exc.left.render()} and {exc.right.render()} have no common type that keeps every value"
                )
                where = f" (at {exc.path})" if exc.path != known_name else ""
                extra = {"field": exc.path} if where else {}
                raise _mismatch(files, groups, lower, reason + where, **extra) from None
    return list(unified.values())


def _mismatch(
    files: Sequence[ParquetFile], groups: Sequence[FileGroup], lower: str, reason: str, **extra: Any
) -> SchemaMismatch:
    """Names the column and, per type it has, the files holding it."""
    by_type: dict[str, list[str]] = {}
    name = lower
    for group in groups:
        present = group.columns.get(lower)
        label = f"{present[0]} {present[1].render()}" if present else "(missing)"
        if present:
            name = present[0]
        by_type.setdefault(label, []).extend(files[i].path for i in group.files)
    return SchemaMismatch(
        f"the files of this pattern disagree on column {name!r}: {reason}",
        column=name,
        files_by_type={label: paths[:_NAMED_FILES] for label, paths in by_type.items()},
        file_counts={label: len(paths) for label, paths in by_type.items()},
        **extra,
    ).with_records(
        {"code": "schema_mismatch", "file": path, "column": name, "type": label, "message": reason}
        for label, paths in by_type.items()
        for path in paths
    )
