"""Base schemas per backend and schema type (documented in docs/schemas.md).

    entity  = xbrl_core + accounting    (a tenant's own reporting and ledger)
    shared  = xbrl_core + repository    (public repositories such as SEC filings)
    custom  = the caller's DDL only

The DDL is written once, as Kuzu table definitions (schemas/kuzu/). The Neo4j backend reads the
same statements and turns them into uniqueness constraints (backends/neo4j/ddl.py).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from node_api.backends.errors import InvalidSchema
from node_api.security.cypher_guard import split_script, split_statements, tokenize

_HERE = Path(__file__).parent
DDL_DIALECT_BY_BACKEND = {"kuzu": "kuzu", "ladybug": "kuzu", "neo4j": "kuzu"}
SCHEMA_PARTS = {"entity": ("xbrl_core", "accounting"), "shared": ("xbrl_core", "repository")}

# The statements custom DDL may contain: schema definitions only, nothing that reads or writes data.
_DDL_STARTS = {("CREATE", "NODE"), ("CREATE", "REL"), ("CREATE", "SEQUENCE"), ("ALTER", "TABLE"),
               ("COMMENT", "ON"), ("CREATE", "CONSTRAINT"), ("CREATE", "INDEX"), ("CREATE", "RANGE"),
               ("CREATE", "TEXT"), ("CREATE", "POINT"), ("CREATE", "FULLTEXT"), ("CREATE", "VECTOR"),
               ("DROP", "TABLE"), ("DROP", "CONSTRAINT"), ("DROP", "INDEX"), ("DROP", "SEQUENCE")}


@cache
def base_schema(backend_kind: str, schema_type: str) -> tuple[str, ...]:
    statements: list[str] = []
    for part in SCHEMA_PARTS[schema_type]:
        path = _HERE / DDL_DIALECT_BY_BACKEND[backend_kind] / f"{part}.cypher"
        statements.extend(split_script(path.read_text()))
    return tuple(statements)


def parse_ddl(script: str, max_statements: int = 500) -> list[str]:
    """Splits and checks caller-supplied DDL; refuses anything but schema definitions."""
    statements = split_script(script)
    if not statements:
        raise InvalidSchema("the DDL contains no statement")
    if len(statements) > max_statements:
        raise InvalidSchema(f"the DDL has {len(statements)} statements; the limit is {max_statements}")
    for statement in statements:
        words = [t.upper for t in split_statements(tokenize(statement))[0] if t.kind == "word"][:2]
        if tuple(words) not in _DDL_STARTS:
            raise InvalidSchema(
                "only schema statements (CREATE NODE/REL TABLE, ALTER TABLE, constraints, indexes) are "
                f"allowed in DDL: {statement[:120]!r}",
            )
        forbidden = {"COPY", "LOAD", "ATTACH", "IMPORT", "EXPORT", "INSTALL", "CALL", "MATCH", "USE"}
        if forbidden & {t.upper for t in tokenize(statement) if t.kind == "word"}:
            raise InvalidSchema(f"DDL may not read or write data or files: {statement[:120]!r}")
        if _defines_from_a_query(statement):
            raise InvalidSchema("a table is defined by its columns in DDL, not from a query (CREATE ... TABLE "
                                f"... AS <query>); load its rows through the ingestion endpoints: {statement[:120]!r}")
    return statements


def _defines_from_a_query(statement: str) -> bool:
    """`CREATE NODE|REL TABLE name AS <query>`: an AS outside every bracket. Kuzu 0.11.3 and LadybugDB
    0.22.0 run the query and bulk-insert its rows (plan: BATCH_INSERT), which the statement policy's
    plan phase refuses on the query endpoint; DDL runs without that phase (found by attacking), so
    the form is refused here. In column definitions AS only appears inside brackets (CAST(x AS T))."""
    depth = 0
    for token in split_statements(tokenize(statement))[0]:
        if token.kind == "punct" and token.text in "([{":
            depth += 1
        elif token.kind == "punct" and token.text in ")]}":
            depth -= 1
        elif depth == 0 and token.kind == "word" and token.upper == "AS":
            return True
    return False
