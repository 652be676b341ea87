"""The Neo4j dialect of the tenant statement policy (security/cypher_guard.py's Dialect hook).

Kept beside the backend so the lead's guard module stays Kuzu-only until it adopts this. Engine facts:
ArcadeDB's Bolt server runs `LOAD CSV FROM 'file:///etc/passwd'` (measured), and neither it nor
Neo4j community enforces read-only access mode on a session, so the guard is the only barrier.
"""

from __future__ import annotations

from node_api.security.cypher_guard import Dialect, Token, _procedure_name

_ADMIN_OBJECTS = frozenset({
    "DATABASE", "DATABASES", "COMPOSITE", "ALIAS", "ALIASES", "USER", "USERS", "ROLE", "ROLES",
    "PRIVILEGE", "PRIVILEGES", "SERVER", "SERVERS", "SETTING", "SETTINGS", "TRANSACTION",
    "TRANSACTIONS", "PROCEDURES", "FUNCTIONS", "CURRENT",
})

# Procedures a tenant may call: schema reads and index queries on its own database. Everything else
# (dbms.*, apoc.*, db.* admin, gds.*...) reaches the server, its files or other databases.
READ_ONLY_PROCEDURES = frozenset({
    "db.labels", "db.relationshiptypes", "db.propertykeys", "db.schema.visualization",
    "db.schema.nodetypeproperties", "db.schema.reltypeproperties",
    "db.index.fulltext.querynodes", "db.index.fulltext.queryrelationships",
    "db.index.vector.querynodes", "db.index.vector.queryrelationships",
})


def _admin_commands(tokens: list[Token], keywords: list[int]) -> str | None:
    # CREATE/DROP/ALTER/SHOW/START/STOP <admin object>: databases, users, roles, server settings.
    for pos, i in enumerate(keywords):
        word = tokens[i].upper
        if word not in ("CREATE", "DROP", "ALTER", "SHOW", "START", "STOP", "RENAME"):
            continue
        for j in keywords[pos + 1 : pos + 4]:
            if tokens[j].upper in _ADMIN_OBJECTS:
                return f"{word} {tokens[j].upper} is an administration command; the node manages databases"
            if tokens[j].upper in ("INDEX", "INDEXES", "CONSTRAINT", "CONSTRAINTS", "NODE", "REL"):
                break
    return None


def _procedures(tokens: list[Token], keywords: list[int]) -> str | None:
    for i in keywords:
        if tokens[i].upper != "CALL":
            continue
        name = _procedure_name(tokens, i)
        if not name:  # CALL { subquery } / CALL (x) { ... }
            continue
        if name.lower() not in READ_ONLY_PROCEDURES:
            return f"procedure {name} is not available to tenants"
    return None


def _file_urls(tokens: list[Token], keywords: list[int]) -> str | None:
    for token in tokens:
        if token.kind == "string" and token.text[1:].lstrip().lower().startswith("file:"):
            return "file: URLs are not allowed"
    return None


def _in_transactions(tokens: list[Token], keywords: list[int]) -> str | None:
    for pos, i in enumerate(keywords[:-1]):
        if tokens[i].upper == "IN" and tokens[keywords[pos + 1]].upper in ("TRANSACTIONS", "CONCURRENT"):
            return "CALL { } IN TRANSACTIONS is not allowed: each request runs in one transaction"
    return None


_FILES = "statements that read files or URLs are not allowed; use the ingestion endpoints"

NEO4J_DIALECT = Dialect(
    name="neo4j",
    forbidden={
        "LOAD": _FILES,
        "USE": "queries are scoped to one database",
        "GRANT": "access control is managed by the node",
        "DENY": "access control is managed by the node",
        "REVOKE": "access control is managed by the node",
        "TERMINATE": "transactions are managed by the node",
    },
    write_keywords=frozenset({"CREATE", "MERGE", "SET", "DELETE", "REMOVE", "DROP", "FOREACH"}),
    read_only_procedures=READ_ONLY_PROCEDURES,
    rules=(_admin_commands, _procedures, _file_urls, _in_transactions),
)
