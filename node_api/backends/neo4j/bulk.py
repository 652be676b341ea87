"""Bulk load of Arrow data into a label or relationship type: `UNWIND $rows` in batches, all batches in
one explicit transaction, so a load is all or nothing like Kuzu's COPY.

Kuzu semantics kept: a node table dedupes on its primary key (the first occurrence wins; later ones,
and rows whose key already exists, are skipped), a rel table's first two columns are the FROM and TO
keys, and a row whose endpoint does not exist is skipped. Without ignore_errors any skipped row fails
the whole load (nothing is written); with it, every skip is counted and reported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

from node_api.backends.base import BulkLoadResult, StatementKind, TableInfo
from node_api.backends.errors import BackendError, InvalidSchema, QueryFailed
from node_api.backends.neo4j.catalog import GraphRecord
from node_api.backends.neo4j.ddl import primary_key, quote
from node_api.backends.neo4j.errors import translate
from node_api.backends.neo4j.session import timed
from node_api.backends.neo4j.values import to_bolt, zoned_set
from node_api.security.paths import validate_identifier

if TYPE_CHECKING:
    from node_api.backends.neo4j.backend import Neo4jBackend

_MAX_WARNINGS = 100
BULK_BATCH_ROWS = 5_000  # rows per UNWIND: bounded Bolt messages, few round trips


async def bulk_load(backend: Neo4jBackend, record: GraphRecord, table_name: str, data: pa.Table, *,
                    ignore_errors: bool) -> BulkLoadResult:
    for name in data.column_names:
        validate_identifier(name, "column name")
    table = record.tables.get(table_name)
    # Zoned timestamps go as ISO text and are rebuilt by datetime() (values.split_zoned).
    zoned = tuple(f.name for f in data.schema if pa.types.is_timestamp(f.type) and f.type.tz)
    if table is not None and table.kind == "rel":
        loader: _Loader = _RelLoader(record, table, data, zoned)
    else:
        loader = _NodeLoader(table_name, table, zoned)
    warnings: list[str] = []
    if table is None:
        warnings.append(f"{table_name} was not declared by DDL: rows are created without key deduplication")
    loaded = skipped = 0
    timeout_s = backend.settings.max_query_timeout_s
    async with backend.session(record.database, StatementKind.WRITE) as session:
        budget_tx = None
        try:
            budget_tx = await timed(session.begin_transaction(timeout=timeout_s), timeout_s)
            for batch in data.to_batches(max_chunksize=BULK_BATCH_ROWS):
                raw = batch.to_pylist()
                for row in raw if zoned else ():
                    for name in zoned:
                        row[name] = row[name].isoformat() if row[name] is not None else None
                rows, pre_skipped, notes = loader.rows(raw)
                created = 0
                if rows:
                    result = await timed(budget_tx.run(loader.cypher, {"rows": rows}), timeout_s)
                    single = await timed(result.single(), timeout_s)
                    created = int(single[0]) if single else 0
                batch_skipped = pre_skipped + (len(rows) - created)
                if len(rows) - created:
                    notes.append(f"{len(rows) - created} rows skipped: {loader.skip_reason}")
                loaded += created
                skipped += batch_skipped
                if batch_skipped and not ignore_errors:
                    raise QueryFailed(
                        f"bulk load into {table_name} refused {batch_skipped} rows ({'; '.join(notes)}); "
                        "nothing was loaded. Use ignore_errors to load the valid rows",
                        table=table_name,
                    )
                warnings.extend(notes[: max(0, _MAX_WARNINGS - len(warnings))])
            await timed(budget_tx.commit(), timeout_s)
        except BackendError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise translate(exc) from None
        finally:
            if budget_tx is not None and not budget_tx.closed():
                await budget_tx.close()  # rollback
    return BulkLoadResult(data.num_rows, loaded, skipped, warnings)



class _Loader:
    cypher: str
    skip_reason: str

    def rows(self, raw: list[dict[str, Any]]) -> tuple[list[Any], int, list[str]]:
        raise NotImplementedError


class _NodeLoader(_Loader):
    def __init__(self, label: str, table: TableInfo | None, zoned: tuple[str, ...]) -> None:
        self.key = primary_key(table) if table else None
        self.seen: set[Any] = set()
        fix = zoned_set("n", "row", zoned)
        if self.key is None:
            self.cypher = f"UNWIND $rows AS row CREATE (n:{quote(label)}) SET n = row{fix} RETURN count(n)"
        else:
            # Rows whose key already exists are left out by the OPTIONAL MATCH, not failed by the constraint.
            self.cypher = (f"UNWIND $rows AS row OPTIONAL MATCH (e:{quote(label)} {{{quote(self.key)}: "
                           f"row.{quote(self.key)}}}) WITH row, e WHERE e IS NULL "
                           f"CREATE (n:{quote(label)}) SET n = row{fix} RETURN count(n)")
        self.skip_reason = f"primary key {self.key} already exists"

    def rows(self, raw: list[dict[str, Any]]) -> tuple[list[Any], int, list[str]]:
        if self.key is None:
            return [to_bolt(r) for r in raw], 0, []
        out, null_keys, dupes = [], 0, 0
        for row in raw:
            value = row.get(self.key)
            if value is None:
                null_keys += 1
            elif value in self.seen:
                dupes += 1
            else:
                self.seen.add(value)
                out.append(to_bolt(row))
        notes = []
        if null_keys:
            notes.append(f"{null_keys} rows skipped: primary key {self.key} is null")
        if dupes:
            notes.append(f"{dupes} rows skipped: duplicate primary key {self.key} in the input")
        return out, null_keys + dupes, notes


class _RelLoader(_Loader):
    def __init__(self, record: GraphRecord, table: TableInfo, data: pa.Table, zoned: tuple[str, ...]) -> None:
        if data.num_columns < 2:
            raise InvalidSchema(f"rel table {table.name} needs its FROM and TO key columns first")
        src, dst = record.tables.get(table.from_tables[0]), record.tables.get(table.to_tables[0])
        src_key, dst_key = (primary_key(src) if src else None), (primary_key(dst) if dst else None)
        if src is None or dst is None or src_key is None or dst_key is None:
            raise InvalidSchema(f"rel table {table.name}: its FROM/TO node tables need primary keys")
        self.columns = data.column_names
        self.cypher = (
            f"UNWIND $rows AS row MATCH (a:{quote(src.name)} {{{quote(src_key)}: row.f}}) "
            f"MATCH (b:{quote(dst.name)} {{{quote(dst_key)}: row.t}}) "
            f"CREATE (a)-[r:{quote(table.name)}]->(b) SET r = row.p{zoned_set('r', 'row.p', zoned)} RETURN count(r)"
        )
        self.skip_reason = f"FROM {src.name} or TO {dst.name} node does not exist"

    def rows(self, raw: list[dict[str, Any]]) -> tuple[list[Any], int, list[str]]:
        f, t = self.columns[0], self.columns[1]
        out, nulls = [], 0
        for row in raw:
            if row[f] is None or row[t] is None:
                nulls += 1
                continue
            props = {k: v for k, v in row.items() if k not in (f, t)}
            out.append({"f": to_bolt(row[f]), "t": to_bolt(row[t]), "p": to_bolt(props)})
        return out, nulls, ([f"{nulls} rows skipped: null FROM/TO key"] if nulls else [])
