"""Table DDL (the Kuzu dialect every schema type is written in) -> what a Neo4j server can hold.

Neo4j has no tables: a node table becomes a label whose primary key is a uniqueness constraint, and
a rel table becomes a relationship type. The declarations themselves (columns, FROM/TO pairs) are
kept in the graph's catalog (catalog.py) so schema introspection and bulk loads of rel tables
(which must find their endpoints by key) work as on Kuzu. Statements that are not table DDL
(CREATE CONSTRAINT / CREATE INDEX ...) are passed to the server unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from node_api.backends.base import PropertyInfo, TableInfo
from node_api.backends.errors import InvalidSchema
from node_api.security.cypher_guard import Token, tokenize
from node_api.security.paths import InvalidIdentifier, validate_identifier


@dataclass
class DdlPlan:
    tables: list[TableInfo] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    native: list[str] = field(default_factory=list)  # sent to the server as they are
    statements: list[str] = field(default_factory=list)  # the input, kept for replay


_MULTIPLICITIES = {"ONE_ONE", "ONE_MANY", "MANY_ONE", "MANY_MANY"}


def quote(name: str) -> str:
    """A label, type or property name as a Cypher identifier (backticks, doubled inside)."""
    return "`" + name.replace("`", "``") + "`"


def primary_key(table: TableInfo) -> str | None:
    return next((p.name for p in table.properties if p.primary_key), None)


def constraint_name(label: str, key: str) -> str:
    return f"pk_{label}_{key}"


def constraint_ddl(table: TableInfo) -> str | None:
    key = primary_key(table)
    if table.kind != "node" or key is None:
        return None
    return (f"CREATE CONSTRAINT {quote(constraint_name(table.name, key))} IF NOT EXISTS "
            f"FOR (n:{quote(table.name)}) REQUIRE n.{quote(key)} IS UNIQUE")


def plan(statements: list[str] | tuple[str, ...]) -> DdlPlan:
    out = DdlPlan(statements=list(statements))
    for statement in statements:
        tokens = tokenize(statement)
        words = [t.upper for t in tokens[:5]]
        if words[:3] in (["CREATE", "NODE", "TABLE"], ["CREATE", "REL", "TABLE"]):
            out.tables.append(_table(tokens, statement))
        elif words[:2] == ["DROP", "TABLE"]:
            out.dropped.append(_name(tokens, 2, statement))
        elif tokens:
            out.native.append(statement)
    return out


def _name(tokens: list[Token], i: int, statement: str) -> str:
    if i < len(tokens) and tokens[i].upper == "IF":
        i += 3 if i + 1 < len(tokens) and tokens[i + 1].upper == "NOT" else 2
    if i >= len(tokens) or tokens[i].kind not in ("word", "quoted"):
        raise InvalidSchema("table name expected", statement=statement[:500])
    name = tokens[i].text.strip("`")
    try:
        return validate_identifier(name, "table name")
    except InvalidIdentifier as exc:
        raise InvalidSchema(str(exc), statement=statement[:500]) from None


def _table(tokens: list[Token], statement: str) -> TableInfo:
    kind = "node" if tokens[1].upper == "NODE" else "rel"
    i = 3
    if kind == "rel" and tokens[i].upper == "GROUP":
        i += 1
    name = _name(tokens, i, statement)
    try:
        open_at = next(j for j, t in enumerate(tokens) if t.text == "(")
    except StopIteration:
        raise InvalidSchema(f"{name}: column list expected", statement=statement[:500]) from None
    items: list[list[Token]] = []
    current: list[Token] = []
    depth, closed = 0, False
    for token in tokens[open_at + 1 :]:
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            if depth == 0:
                closed = True
                break
            depth -= 1
        if token.text == "," and depth == 0:
            items.append(current)
            current = []
        else:
            current.append(token)
    items.append(current)
    if not closed:  # what Kuzu's parser refuses is refused here too, not half-applied
        raise InvalidSchema(f"{name}: the column list is not closed", statement=statement[:500])
    props: list[PropertyInfo] = []
    pk: str | None = None
    froms: list[str] = []
    tos: list[str] = []
    for item in (it for it in items if it):
        head = item[0].upper
        if head == "PRIMARY":
            if len(item) != 5 or item[1].upper != "KEY" or item[2].text != "(" or item[4].text != ")":
                raise InvalidSchema(f"{name}: PRIMARY KEY(<column>) expected", statement=statement[:500])
            pk = item[3].text.strip("`")
        elif head == "FROM" and kind == "rel" and len(item) >= 4 and item[2].upper == "TO":
            froms.append(item[1].text.strip("`"))
            tos.append(item[3].text.strip("`"))
        elif kind == "rel" and len(item) == 1 and head in _MULTIPLICITIES:
            continue
        else:
            col = item[0].text.strip("`")
            if len(item) < 2 or item[0].kind not in ("word", "quoted") or item[1].kind not in ("word", "quoted"):
                raise InvalidSchema(f"{name}: column {col!r} needs a name and a type", statement=statement[:500])
            is_pk = any(t.upper == "PRIMARY" for t in item[1:])
            props.append(PropertyInfo(col, _type_text([t for t in item[1:] if t.upper not in ("PRIMARY", "KEY")]),
                                      is_pk))
            if is_pk:
                pk = col
    if pk is not None:
        if pk not in {p.name for p in props}:
            raise InvalidSchema(f"{name}: the primary key {pk} is not one of its columns", statement=statement[:500])
        props = [PropertyInfo(p.name, p.type, p.name == pk) for p in props]
    if kind == "rel" and not froms:
        raise InvalidSchema(f"rel table {name} needs FROM <table> TO <table>", statement=statement[:500])
    return TableInfo(name, kind, props, from_tables=froms, to_tables=tos)


def _type_text(tokens: list[Token]) -> str:
    text = ""
    for prev, token in zip([None, *tokens], tokens, strict=False):
        if prev is not None and prev.kind in ("word", "number") and token.kind in ("word", "number"):
            text += " "
        text += token.text + (" " if token.text == "," else "")
    return text
