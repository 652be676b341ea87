"""The portable graph format: a graph as Cypher DDL plus one Parquet file per table (and per node pair
of a relationship table), which either embedded engine loads with its own `IMPORT DATABASE`.

    schema.cypher          CREATE NODE/REL TABLE (types, DEFAULTs, primary keys, FROM/TO pairs,
                           multiplicity), sequences at their current value, COMMENT ON TABLE
    copy.cypher            COPY `T` (...) FROM "nodes-1.parquet"; COPY `R` FROM "rels-1-1.parquet"
                           (from='A', to='B'); ...  (paths relative to the directory)
    nodes-N.parquet        the rows of node table N (in schema order)
    rels-N-M.parquet       the rows of relationship table N between its M-th node pair: the source's
                           and destination's primary keys, then the properties

This is the layout `EXPORT DATABASE` writes in Kuzu 0.11.3, and `IMPORT DATABASE` of both Kuzu 0.11.3
and LadybugDB 0.22.0 runs schema.cypher then copy.cypher from such a directory. The node writes the
directory itself instead of calling `EXPORT DATABASE`, because neither engine's export is faithful or
portable (measured, docs/engine-facts.md):
- Kuzu 0.11.3's export drops DEFAULTs and table comments; its Parquet writer refuses DECIMAL and
  silently writes INT128 values as 0 and drops INTERVAL microseconds.
- LadybugDB 0.22.0 exports only its own "icebug-disk" CSR layout (not importable by Kuzu), refuses
  relationship tables with several node pairs (rel groups), even with SCHEMA_ONLY, and its Parquet
  writer refuses INT128, DECIMAL and INTERVAL.
So the DDL is generated from the catalog (`show_tables`, `table_info`, `show_connection`,
`show_sequences`), multiplicities are taken from the engine's own schema export (no catalog function
shows them), and the data goes out with the engines' `COPY (MATCH ...) TO 'x.parquet'` (what EXPORT
itself runs), columns of the types a Parquet writer loses cast to STRING: `COPY FROM` casts them back
(measured on every type in both directions between the engines).

The export runs inside a worker (`export`), in one read-only transaction: a consistent snapshot of
every table while writers go on. Nothing here imports an engine.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PORTABLE_FORMAT = "cypher-parquet/1"
SCHEMA_FILE = "schema.cypher"
COPY_FILE = "copy.cypher"
FILE_PATTERN = r"schema\.cypher|copy\.cypher|nodes-\d{1,6}\.parquet|rels-\d{1,6}-\d{1,6}\.parquet"
MULTIPLICITIES = ("ONE_ONE", "ONE_MANY", "MANY_ONE", "MANY_MANY")

# Types a Parquet writer of one engine or the other refuses or corrupts (module doc): written as text.
_LOSSY = re.compile(r"\b(?:INT128|DECIMAL|INTERVAL)\b")
# Nested values: their text form cannot be parsed back once they hold strings, and Kuzu 0.11.3's Parquet
# writer shifts the values of a STRUCT (UNION, MAP) column that follow a NULL (measured: the row after a
# NULL gets the next row's value). Files with such columns are read back and compared (`_verify_file`).
_NESTED = re.compile(r"\[|\b(?:STRUCT|MAP|UNION)\b")
_STRUCTURED = re.compile(r"\b(?:STRUCT|MAP|UNION)\b")
_TEXTUAL = re.compile(r"\b(?:STRING|BLOB|UUID)\b")
# One statement per line: Kuzu 0.11.3 `...,MANY_ONE);`, LadybugDB 0.22.0 `...,MANY_ONE) WITH (...);`.
_EXPORTED_REL = re.compile(r"^CREATE REL TABLE `((?:[^`]|``)+)` \(.*,\s*(ONE_ONE|ONE_MANY|MANY_ONE|MANY_MANY)\)",
                           re.MULTILINE)

Rows = Callable[[str], list[dict[str, Any]]]


class NotPortable(ValueError):
    """The graph holds something the portable format cannot carry; the message names it."""


def quote(name: str) -> str:
    """A backquoted Cypher name. Backticks inside names are refused: Kuzu keeps `a``b` as `a``b`
    while LadybugDB reads it as `a`b` (measured), so such a name would not survive the move."""
    if "`" in name:
        raise NotPortable(f"the name {name!r} holds a backtick, which Kuzu and LadybugDB read differently")
    return f"`{name}`"


def literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def column_expression(variable: str, name: str, type_text: str, table: str) -> str:
    """The RETURN expression of one property in a COPY TO query: lossy types as their text."""
    ref = f"{variable}.{quote(name)}"
    if not _LOSSY.search(type_text):
        return ref
    if _NESTED.search(type_text) and _TEXTUAL.search(type_text):
        raise NotPortable(f"{table}.{name} has type {type_text}: a nested value holding both a "
                          "DECIMAL/INT128/INTERVAL and text cannot be written to Parquet without loss")
    return f"CAST({ref} AS STRING)"


def multiplicities(exported_schema: str) -> dict[str, str]:
    """{rel table: multiplicity} from an engine's own `EXPORT DATABASE (SCHEMA_ONLY=true)` text."""
    return {m.group(1).replace("``", "`"): m.group(2) for m in _EXPORTED_REL.finditer(exported_schema)}


def _default(prop: dict[str, Any]) -> str:
    text = str(prop.get("default expression") or "").strip()
    if not text or text.upper() == "NULL" or prop["type"] == "SERIAL":
        return ""
    return f" DEFAULT {text}"


def schema_ddl(catalog: dict[str, Any]) -> list[str]:
    """DDL statements recreating `catalog` (see `read_catalog`) in either engine."""
    statements: list[str] = []
    for table in catalog["node_tables"]:
        columns = [f"{quote(p['name'])} {p['type']}{_default(p)}" for p in table["properties"]]
        keys = [quote(p["name"]) for p in table["properties"] if p.get("primary key")]
        statements.append(f"CREATE NODE TABLE {quote(table['name'])} ({', '.join(columns)}, "
                          f"PRIMARY KEY({', '.join(keys)}))")
    for table in catalog["rel_tables"]:
        parts = [f"FROM {quote(p['from'])} TO {quote(p['to'])}" for p in table["pairs"]]
        parts += [f"{quote(p['name'])} {p['type']}{_default(p)}" for p in table["properties"]]
        parts.append(table["multiplicity"])
        statements.append(f"CREATE REL TABLE {quote(table['name'])} ({', '.join(parts)})")
    for seq in catalog["sequences"]:
        name = quote(seq["name"])
        start = seq["current"] if seq["current"] is not None else seq["start"]
        statements.append(f"DROP SEQUENCE IF EXISTS {name}")  # a SERIAL's own, made with its table
        statements.append(
            f"CREATE SEQUENCE IF NOT EXISTS {name} START {start} INCREMENT {seq['increment']} "
            f"MINVALUE {seq['min']} MAXVALUE {seq['max']} {'CYCLE' if seq['cycle'] else 'NO CYCLE'}")
        if seq["current"] is not None:  # nextval once: the sequence's current value is `start` again
            statements.append(f"RETURN nextval({literal(seq['name'])})")
    for table in catalog["node_tables"] + catalog["rel_tables"]:
        if table.get("comment"):
            statements.append(f"COMMENT ON TABLE {quote(table['name'])} IS {literal(table['comment'])}")
    return statements


def read_catalog(rows: Rows, rel_multiplicity: dict[str, str]) -> dict[str, Any]:
    """Tables, properties (type, DEFAULT, primary key), node pairs and sequences, as the engine's
    catalog functions list them. A relationship table missing from `rel_multiplicity` is MANY_MANY
    and named in `warnings`."""
    catalog: dict[str, Any] = {"node_tables": [], "rel_tables": [], "sequences": [], "warnings": []}
    for table in rows("CALL show_tables() RETURN *"):
        name, kind = str(table["name"]), str(table["type"]).upper()
        props = [{"name": str(p["name"]), "type": str(p["type"]), "default expression": p.get("default expression"),
                  "primary key": bool(p.get("primary key", False))}
                 for p in rows(f"CALL table_info({literal(name)}) RETURN *")]
        entry: dict[str, Any] = {"name": name, "properties": props, "comment": str(table.get("comment") or "")}
        if kind == "NODE":
            catalog["node_tables"].append(entry)
        elif kind == "REL":
            entry["pairs"] = [{"from": str(c["source table name"]), "to": str(c["destination table name"]),
                               "from_key": str(c["source table primary key"]),
                               "to_key": str(c["destination table primary key"])}
                              for c in rows(f"CALL show_connection({literal(name)}) RETURN *")]
            entry["multiplicity"] = rel_multiplicity.get(name, "MANY_MANY")
            if name not in rel_multiplicity:
                catalog["warnings"].append(
                    f"the multiplicity of relationship table {name} cannot be read from this engine; it is "
                    "restored as MANY_MANY")
            catalog["rel_tables"].append(entry)
        else:
            raise NotPortable(f"table {name} is of kind {kind}, which the portable format does not carry")
    for seq in rows("CALL show_sequences() RETURN *"):
        catalog["sequences"].append({
            "name": str(seq["name"]), "start": int(seq["start value"]), "increment": int(seq["increment"]),
            "min": int(seq["min value"]), "max": int(seq["max value"]), "cycle": bool(seq["cycle"]),
            "current": None})
    for table in catalog["node_tables"] + catalog["rel_tables"]:
        quote(table["name"])
        for prop in table["properties"]:
            quote(prop["name"])
    return catalog


def copy_plan(catalog: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per data file: its name, the table, the COPY TO query and the COPY FROM statement."""
    plan: list[dict[str, Any]] = []
    for n, table in enumerate(catalog["node_tables"], start=1):
        name, props = table["name"], table["properties"]
        file = f"nodes-{n}.parquet"
        exprs = [f"{column_expression('n', p['name'], p['type'], name)} AS {quote(p['name'])}" for p in props]
        structured = [p["name"] for p in props if _STRUCTURED.search(p["type"])]
        plan.append({
            "file": file, "table": name, "kind": "node", "structured": structured,
            "unions": {i for i, p in enumerate(props) if p["type"].startswith("UNION(")},
            "export": f"MATCH (n:{quote(name)}) RETURN {', '.join(exprs)}" + _nulls_last("n", structured),
            "count": f"MATCH (n:{quote(name)}) RETURN count(n)",
            "import": f"COPY {quote(name)} ({', '.join(quote(p['name']) for p in props)}) FROM \"{file}\"",
        })
    for n, table in enumerate(catalog["rel_tables"], start=1):
        name = table["name"]
        for m, pair in enumerate(table["pairs"], start=1):
            file = f"rels-{n}-{m}.parquet"
            ends = {t["name"]: t for t in catalog["node_tables"]}
            keys = []
            for end, variable, key in ((pair["from"], "a", pair["from_key"]), (pair["to"], "b", pair["to_key"])):
                key_type = next(p["type"] for p in ends[end]["properties"] if p["name"] == key)
                keys.append(column_expression(variable, key, key_type, end))
            exprs = [f"{keys[0]} AS `from`", f"{keys[1]} AS `to`"] + [
                f"{column_expression('r', p['name'], p['type'], name)} AS {quote(p['name'])}"
                for p in table["properties"]]
            pattern = f"(a:{quote(pair['from'])})-[r:{quote(name)}]->(b:{quote(pair['to'])})"
            structured = [p["name"] for p in table["properties"] if _STRUCTURED.search(p["type"])]
            plan.append({
                "file": file, "table": name, "kind": "rel", "structured": structured,
                "unions": {i + 2 for i, p in enumerate(table["properties"]) if p["type"].startswith("UNION(")},
                "export": f"MATCH {pattern} RETURN {', '.join(exprs)}" + _nulls_last("r", structured),
                "count": f"MATCH {pattern} RETURN count(r)",
                "import": f"COPY {quote(name)} FROM \"{file}\" (from={literal(pair['from'])}, to={literal(pair['to'])})",
            })
    return plan


def _nulls_last(variable: str, structured: list[str]) -> str:
    """Rows with NULL structured values last: Kuzu 0.11.3's Parquet writer then has no value to shift."""
    if not structured:
        return ""
    return " ORDER BY " + ", ".join(f"{variable}.{quote(name)} IS NULL" for name in structured)


def _verify_file(rows: Rows, entry: dict[str, Any], path: Path) -> None:
    """The file, read back by the engine, holds exactly the rows the export query returns."""
    unions = entry["unions"]

    def member(value: Any) -> Any:  # Parquet keeps a UNION as STRUCT(tag, members...): the tagged member
        return None if value is None else list(value.values())[1 + int(value["tag"])]

    def plain(value: Any) -> Any:  # Parquet keeps TIMESTAMP_TZ as UTC without its zone
        return value.astimezone(UTC).replace(tzinfo=None) if isinstance(value, datetime) and value.tzinfo else value

    written = sorted(repr([plain(member(v) if i in unions else v) for i, v in enumerate(r.values())])
                     for r in rows(f"LOAD FROM {literal(str(path))} RETURN *"))
    expected = sorted(repr([plain(v) for v in r.values()]) for r in rows(entry["export"]))
    if written != expected:
        raise NotPortable(
            f"this engine's Parquet writer did not write {entry['table']} faithfully (its columns "
            f"{', '.join(entry['structured'])} hold NULL structured values; Kuzu 0.11.3 shifts the values that "
            "follow one, docs/engine-facts.md); set those NULLs to values, or move the graph with another tool")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _rows(conn: Any) -> Rows:
    def rows(statement: str) -> list[dict[str, Any]]:
        result = conn.execute(statement)
        try:
            columns = result.get_column_names()
            return [dict(zip(columns, row, strict=True)) for row in result.get_all()]
        finally:
            result.close()

    return rows


def _engine_multiplicities(conn: Any, scratch: Path) -> dict[str, str]:
    """Multiplicities from the engine's own schema export into `scratch` (removed afterwards)."""
    try:
        # LadybugDB 0.22.0 refuses this for rel groups (measured): their multiplicity is then unknown.
        conn.execute(f"EXPORT DATABASE {literal(str(scratch))} (SCHEMA_ONLY=true)").close()
        return multiplicities((scratch / SCHEMA_FILE).read_text())
    except (RuntimeError, OSError):
        return {}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _read_sequences(rows: Rows, catalog: dict[str, Any]) -> None:
    for seq in catalog["sequences"]:
        try:
            seq["current"] = int(next(iter(rows(f"RETURN currval({literal(seq['name'])})")[0].values())))
        except RuntimeError:  # "not yet defined": never advanced
            seq["current"] = None


def export(conn: Any, directory: Path, scratch: Path) -> dict[str, Any]:
    """Writes the portable form of the connection's database into `directory` (created; inside the
    worker's own directory, the only place it may write). `scratch` is a path for the engine's own
    schema export (removed). Returns {ddl, files: [{name, table, rows, sha256}], row_counts, warnings}.
    Raises NotPortable, or the engine's error."""
    directory.mkdir()
    rows = _rows(conn)
    rel_multiplicity = _engine_multiplicities(conn, scratch)
    conn.execute("BEGIN TRANSACTION READ ONLY").close()  # one snapshot for every table; writers go on
    try:
        catalog = read_catalog(rows, rel_multiplicity)
        plan = copy_plan(catalog)
        for entry in plan:
            entry["rows"] = int(next(iter(rows(entry["count"])[0].values())))
            if entry["rows"]:  # an empty table needs no file: it stays empty
                conn.execute(f"COPY ({entry['export']}) TO {literal(str(directory / entry['file']))}").close()
                if entry["structured"]:
                    _verify_file(rows, entry, directory / entry["file"])
    finally:
        conn.execute("COMMIT").close()
    # After the snapshot: a sequence only moves on, so its value now is past any value exported.
    _read_sequences(rows, catalog)
    ddl = schema_ddl(catalog)
    if any("\n" in statement or "\r" in statement for statement in ddl):  # the scripts are one statement a line
        raise NotPortable("a DEFAULT expression or comment holds a line break, which the portable scripts cannot carry")
    (directory / SCHEMA_FILE).write_text("".join(s + ";\n" for s in ddl))
    (directory / COPY_FILE).write_text("".join(e["import"] + ";\n" for e in plan if e["rows"]))
    counts: dict[str, dict[str, int]] = {"node_tables": {}, "rel_tables": {}}
    files: list[dict[str, Any]] = []
    for entry in plan:
        bucket = counts["node_tables" if entry["kind"] == "node" else "rel_tables"]
        bucket[entry["table"]] = bucket.get(entry["table"], 0) + entry["rows"]
        if entry["rows"]:
            files.append({"name": entry["file"], "table": entry["table"], "rows": entry["rows"],
                          "sha256": sha256_file(directory / entry["file"])})
    for name in (SCHEMA_FILE, COPY_FILE):
        files.append({"name": name, "table": None, "rows": None, "sha256": sha256_file(directory / name)})
    return {"ddl": ddl, "files": files, "row_counts": counts, "warnings": catalog["warnings"]}


def schema_only(conn: Any, scratch: Path) -> list[str]:
    """The DDL `export` would write, without data (rebuild starts from it)."""
    rows = _rows(conn)
    catalog = read_catalog(rows, _engine_multiplicities(conn, scratch))
    _read_sequences(rows, catalog)
    return schema_ddl(catalog)


_COPY_LINE = re.compile(r'^COPY `[^`]+`(?: \([^"]*\))? FROM "(' + FILE_PATTERN + r')"'
                        r"(?: \(from='(?:[^'\\]|\\.)*', to='(?:[^'\\]|\\.)*'\))?$")


def import_statements(directory: Path, check: Callable[[str], object]) -> list[str]:
    """The statements of a portable directory, in order, with data file names made absolute (what
    `IMPORT DATABASE` does). schema.cypher's statements must pass `check` (the statement policy) and
    copy.cypher's must be this module's COPY lines naming its own files: a directory is run only if it
    is one the node could have written. Raises NotPortable otherwise."""
    statements: list[str] = []
    for text in _split((directory / SCHEMA_FILE).read_text()):
        check(text)
        statements.append(text)
    for text in _split((directory / COPY_FILE).read_text()):
        match = _COPY_LINE.match(text)
        if match is None:
            raise NotPortable(f"copy.cypher holds a statement the node never writes: {text[:80]!r}")
        statements.append(text[: match.start(1) - 1] + literal(str(directory / match.group(1)))
                          + text[match.end(1) + 1:])
    return statements


def _split(script: str) -> list[str]:
    """Statements of a script this module wrote: one per line, each ending with `;`."""
    return [line[:-1] for line in script.splitlines() if line.strip()]
