"""Portable backups of a Neo4j graph: JSON lines of nodes and relationships plus a manifest.

    manifest.json        format, graph, schema type, the DDL to replay, counts
    nodes.jsonl          {"id", "labels", "properties"}        one per line
    relationships.jsonl  {"id", "type", "start", "end", "properties"}

Property values keep their Cypher types through tagged objects ({"$date": ...}, values.py).
Both files are read in one read transaction. Restore never drops the live graph first: it loads the
backup beside it (nodes marked RESTORE_LABEL, unique constraints lifted meanwhile), then deletes the
old nodes and unmarks the new; a failure removes what was loaded and puts the constraints back.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from node_api.backends.base import DatabaseInfo, StatementKind
from node_api.backends.errors import BackendError, DatabaseNotFound, InvalidSchema, QueryFailed
from node_api.backends.neo4j.catalog import META_LABEL, RESTORE_LABEL, GraphRecord, now
from node_api.backends.neo4j.ddl import plan, quote
from node_api.backends.neo4j.errors import translate
from node_api.backends.neo4j.values import decode_property, encode_property, split_zoned, zoned_set

if TYPE_CHECKING:
    from node_api.backends.neo4j.backend import Neo4jBackend

FORMAT = "graph-jsonl/1"
BATCH = 2_000
_TIMEOUT_S = 600.0

_NODES = f"MATCH (n) WHERE NOT n:{META_LABEL} RETURN elementId(n), labels(n), properties(n)"
_RELS = "MATCH (a)-[r]->(b) RETURN elementId(r), type(r), elementId(a), elementId(b), properties(r)"


async def write_backup(backend: Neo4jBackend, record: GraphRecord, destination: Path) -> dict[str, Any]:
    await asyncio.to_thread(destination.mkdir, parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    async with backend.session(record.database, StatementKind.READ, fetch_size=BATCH) as session:
        tx = await session.begin_transaction(timeout=_TIMEOUT_S)
        try:
            counts["nodes"] = await _dump(await tx.run(_NODES), destination / "nodes.jsonl",
                                          lambda v: {"id": v[0], "labels": sorted(v[1]),
                                                     "properties": _encode(v[2])})
            counts["relationships"] = await _dump(await tx.run(_RELS), destination / "relationships.jsonl",
                                                  lambda v: {"id": v[0], "type": v[1], "start": v[2], "end": v[3],
                                                             "properties": _encode(v[4])})
        except BackendError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise translate(exc) from None
        finally:
            await tx.close()
    manifest = {
        "format": FORMAT,
        "engine": "neo4j",
        "server": backend.server_agent,
        "graph_id": record.graph_id,
        "schema_type": record.schema_type,
        "ddl": record.ddl,
        "backed_up_at": now().isoformat(),
        **counts,
    }
    await asyncio.to_thread((destination / "manifest.json").write_text, json.dumps(manifest, indent=2))
    # Facts for the operations module's archive manifest (node_api/core/backup/service.py): what its
    # restore checks (engine, version; `portable`: any server version may replay these files) and
    # reports. The archive has its own "format"; this directory's is kept as data_format.
    facts = {k: v for k, v in manifest.items() if k != "format"}
    return {**facts, "data_format": FORMAT, "engine": backend.kind, "engine_version": backend.engine_version,
            "portable": True, "node_count": counts["nodes"], "rel_count": counts["relationships"],
            "consistency": "read-transaction"}


def _encode(props: dict[str, Any]) -> dict[str, Any]:
    return {k: encode_property(v) for k, v in props.items()}


async def _dump(result: Any, path: Path, shape: Any) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as out:
        lines: list[str] = []
        async for record in result:
            lines.append(json.dumps(shape(record.values()), separators=(",", ":")))
            if len(lines) >= BATCH:
                await asyncio.to_thread(out.write, "\n".join(lines) + "\n")
                count += len(lines)
                lines = []
        if lines:
            await asyncio.to_thread(out.write, "\n".join(lines) + "\n")
            count += len(lines)
    return count


async def _read_batches(path: Path) -> AsyncIterator[list[dict[str, Any]]]:
    handle = await asyncio.to_thread(path.open, "r", encoding="utf-8")
    try:
        while True:
            lines = await asyncio.to_thread(handle.readlines, 1 << 20)
            if not lines:
                return
            batch = [json.loads(line) for line in lines if line.strip()]
            for start in range(0, len(batch), BATCH):
                yield batch[start : start + BATCH]
    finally:
        handle.close()


def read_manifest(source: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((source / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise InvalidSchema(f"not a Neo4j backup directory: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise InvalidSchema(f"unknown backup format {manifest.get('format')!r}; expected {FORMAT}")
    for name in ("nodes.jsonl", "relationships.jsonl"):
        if not (source / name).is_file():
            raise InvalidSchema(f"backup is missing {name}")
    return manifest


async def restore_backup(backend: Neo4jBackend, graph_id: str, source: Path, *, schema_type: str) -> DatabaseInfo:
    manifest = await asyncio.to_thread(read_manifest, source)
    ddl = [str(s) for s in manifest.get("ddl", [])]
    schema_type = schema_type or str(manifest.get("schema_type", "custom"))
    with suppress(DatabaseNotFound):
        await backend.graph_record(graph_id)  # another API task may have created it
    if not backend.exists(graph_id):
        info = await backend.create_database(graph_id, schema_type, ddl)
        try:
            async with backend.changing(graph_id) as record:
                await _load(backend, record.database, source, manifest, marker=None)
        except BaseException:
            await backend.delete_database(graph_id)
            raise
        return info
    async with backend.changing(graph_id) as old:
        db = old.database
        # Unique constraints would refuse the backup's keys while the old nodes still hold them.
        await backend.drop_constraints(db)
        try:
            await _load(backend, db, source, manifest, marker=RESTORE_LABEL)
        except BaseException:
            await _batched(backend, db, f"MATCH (n:{RESTORE_LABEL}) WITH n LIMIT $n DETACH DELETE n RETURN count(*)")
            await _replay(backend, GraphRecord(graph_id, db, old.schema_type, old.created_at), old.ddl)
            raise
        await _batched(backend, db, f"MATCH (n) WHERE NOT n:{RESTORE_LABEL} AND NOT n:{META_LABEL} "
                                    "WITH n LIMIT $n DETACH DELETE n RETURN count(*)")
        await _batched(backend, db, f"MATCH (n:{RESTORE_LABEL}) WITH n LIMIT $n REMOVE n:{RESTORE_LABEL} "
                                    "RETURN count(*)")
        record = GraphRecord(graph_id, db, schema_type, old.created_at)
        await _replay(backend, record, ddl)
        await backend.save_record(record)
        return backend.info_of(record)


async def _replay(backend: Neo4jBackend, record: GraphRecord, ddl: list[str]) -> None:
    record.tables.clear()
    record.ddl.clear()
    await backend.apply_plan(record, plan(ddl))


async def _batched(backend: Neo4jBackend, db: str, cypher: str) -> None:
    while True:
        rows = await backend.run(db, StatementKind.WRITE, cypher, {"n": BATCH}, _TIMEOUT_S)
        if not rows or not rows[0][0]:
            return


async def _load(backend: Neo4jBackend, db: str, source: Path, manifest: dict[str, Any], *,
                marker: str | None) -> None:
    ids: dict[str, str] = {}  # backup element id -> new element id (held in memory: ~100 B per node)
    write = StatementKind.WRITE
    async for batch in _read_batches(source / "nodes.jsonl"):
        groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
        for node in batch:
            plain, zoned = split_zoned({k: decode_property(v) for k, v in node["properties"].items()})
            groups[(tuple(node["labels"]), tuple(sorted(zoned)))].append({"i": node["id"], "p": plain, "z": zoned})
        for (labels, zoned_keys), rows in groups.items():
            names = [*labels, marker] if marker else list(labels)
            label_text = "".join(f":{quote(n)}" for n in names)
            created = await backend.run(
                db, write, f"UNWIND $rows AS row CREATE (n{label_text}) SET n = row.p"
                           f"{zoned_set('n', 'row.z', zoned_keys)} RETURN row.i, elementId(n)",
                {"rows": rows}, _TIMEOUT_S)
            ids.update((str(old), str(new)) for old, new in created)
    missing = 0
    async for batch in _read_batches(source / "relationships.jsonl"):
        groups = defaultdict(list)
        for rel in batch:
            start, end = ids.get(rel["start"]), ids.get(rel["end"])
            if start is None or end is None:
                missing += 1
                continue
            plain, zoned = split_zoned({k: decode_property(v) for k, v in rel["properties"].items()})
            groups[(rel["type"], tuple(sorted(zoned)))].append({"s": start, "e": end, "p": plain, "z": zoned})
        for (rel_type, zoned_keys), rows in groups.items():
            # ArcadeDB resolves elementId(n) = $rid as a direct record lookup (1000 lookups: 30 ms).
            await backend.run(db, write, "UNWIND $rows AS row MATCH (a) WHERE elementId(a) = row.s "
                                         "MATCH (b) WHERE elementId(b) = row.e "
                                         f"CREATE (a)-[r:{quote(rel_type)}]->(b) SET r = row.p"
                                         f"{zoned_set('r', 'row.z', zoned_keys)} RETURN count(r)",
                              {"rows": rows}, _TIMEOUT_S)
    if missing:
        raise QueryFailed(f"the backup is inconsistent: {missing} relationships refer to nodes it does not hold")
    if len(ids) != int(manifest.get("nodes", len(ids))):
        raise QueryFailed(f"restored {len(ids)} nodes; the manifest lists {manifest.get('nodes')}")
