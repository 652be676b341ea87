"""Statement policy for tenant Cypher: one statement per request, no file system, no other
databases, no engine settings, and a read/write classification that decides which lane runs it.

The check works on tokens, not on regexes over the raw text: comments, string literals and
backtick-quoted names are removed first, so `RETURN 'COPY'` is fine and `/* */COPY` is not.
A keyword used as a property (`n.load`), label (`:Load`), parameter (`$use`) or map key (`{use: 1}`)
is not a keyword. Names that clash with a forbidden keyword anywhere else must be backtick-quoted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from node_api.backends.base import StatementKind
from node_api.backends.errors import InvalidQuery, QueryForbidden

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<line_comment>//[^\n]*)
  | (?P<block_comment>/\*.*?(?:\*/|\Z))
  | (?P<string>'(?:[^'\\]|\\.)*(?:'|\Z)|"(?:[^"\\]|\\.)*(?:"|\Z))
  | (?P<quoted>`(?:[^`]|``)*(?:`|\Z))
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    kind: str  # "word" | "string" | "quoted" | "number" | "punct"
    text: str

    @property
    def upper(self) -> str:
        return self.text.upper()


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "punct"
        if kind in ("ws", "line_comment", "block_comment"):
            continue
        value = match.group()
        if kind in ("string", "quoted") and (len(value) < 2 or value[-1] != value[0]):
            raise InvalidQuery("unterminated string or quoted name")
        if kind == "block_comment" and not value.endswith("*/"):
            raise InvalidQuery("unterminated comment")
        tokens.append(Token(kind, value))
    return tokens


def split_statements(tokens: list[Token]) -> list[list[Token]]:
    statements: list[list[Token]] = [[]]
    for token in tokens:
        if token.kind == "punct" and token.text == ";":
            statements.append([])
        else:
            statements[-1].append(token)
    return [s for s in statements if s]


def split_script(text: str) -> list[str]:
    """Splits a DDL script into statements on top-level semicolons (not inside strings/comments)."""
    pieces: list[str] = []
    start = 0
    for match in _TOKEN.finditer(text):
        if match.lastgroup == "punct" and match.group() == ";":
            pieces.append(text[start : match.start()])
            start = match.end()
    pieces.append(text[start:])
    return [p.strip() for p in pieces if tokenize(p)]


def _keyword_positions(tokens: list[Token]) -> list[int]:
    """Indexes of word tokens that act as keywords (not property/label/parameter/map key)."""
    positions = []
    for i, token in enumerate(tokens):
        if token.kind != "word":
            continue
        prev = tokens[i - 1].text if i > 0 and tokens[i - 1].kind == "punct" else ""
        nxt = tokens[i + 1].text if i + 1 < len(tokens) and tokens[i + 1].kind == "punct" else ""
        if prev in (".", ":", "$") or nxt == ":":
            continue
        positions.append(i)
    return positions


@dataclass(frozen=True)
class Dialect:
    """What one engine's Cypher may not do, and which words make a statement a write."""

    name: str
    forbidden: dict[str, str]  # keyword -> reason
    write_keywords: frozenset[str]
    read_only_procedures: frozenset[str] = frozenset()
    # Extra checks with access to the whole token list: return a reason to forbid, or None.
    rules: tuple[Callable[[list[Token], list[int]], str | None], ...] = field(default_factory=tuple)


class CypherGuard:
    def __init__(self, dialect: Dialect, max_length: int) -> None:
        self.dialect = dialect
        self.max_length = max_length

    def classify(self, cypher: str) -> StatementKind:
        if not cypher or not cypher.strip():
            raise InvalidQuery("the query is empty")
        if len(cypher) > self.max_length:
            raise InvalidQuery(
                f"the query is {len(cypher)} characters long; the limit is {self.max_length}",
                max_query_length=self.max_length,
            )
        statements = split_statements(tokenize(cypher))
        if len(statements) != 1:
            raise InvalidQuery("send exactly one statement per request")
        tokens = statements[0]
        keywords = _keyword_positions(tokens)
        for i in keywords:
            reason = self.dialect.forbidden.get(tokens[i].upper)
            if reason and not _is_detach_delete(tokens, i):
                raise QueryForbidden(f"{tokens[i].upper} is not allowed: {reason}", keyword=tokens[i].upper)
        for rule in self.dialect.rules:
            reason = rule(tokens, keywords)
            if reason:
                raise QueryForbidden(reason)
        return self._kind(tokens, keywords)

    def _kind(self, tokens: list[Token], keywords: list[int]) -> StatementKind:
        for i in keywords:
            word = tokens[i].upper
            if word in self.dialect.write_keywords:
                return StatementKind.WRITE
            if word == "CALL" and (name := _procedure_name(tokens, i)) and \
                    name.lower() not in self.dialect.read_only_procedures:
                # Procedures may write (index creation, projections): serialize them with writes.
                return StatementKind.WRITE
        return StatementKind.READ


def _is_detach_delete(tokens: list[Token], i: int) -> bool:
    return tokens[i].upper == "DETACH" and i + 1 < len(tokens) and tokens[i + 1].upper == "DELETE"


def _procedure_name(tokens: list[Token], call_index: int) -> str:
    parts = []
    j = call_index + 1
    while j < len(tokens) and (tokens[j].kind == "word" or tokens[j].text == "."):
        parts.append(tokens[j].text)
        j += 1
    return "".join(parts)


def _kuzu_no_configuration(tokens: list[Token], keywords: list[int]) -> str | None:
    # `CALL threads=4` / `CALL home_directory='/'` change engine settings for the whole database.
    for i in keywords:
        if tokens[i].upper == "CALL":
            j = i + 1
            if j + 1 < len(tokens) and tokens[j].kind == "word" and tokens[j + 1].text == "=":
                return "changing engine settings (CALL option=value) is not allowed"
    return None


_PATH_LIKE = re.compile(r"[/\\]|^\.|^~|://|\.(csv|tsv|parquet|json|jsonl|ndjson|txt|npy|kuzu|db|wal)$", re.I)


def _kuzu_no_file_arguments(tokens: list[Token], keywords: list[int]) -> str | None:
    # Procedures take some arguments as file paths: CREATE_FTS_INDEX(..., stopwords := '/x.csv')
    # loads the file (measured; a wrong path even answers "not a valid file path", an existence
    # oracle). A string that looks like a path or URL is refused anywhere in a CALL statement.
    if not any(tokens[i].upper == "CALL" for i in keywords):
        return None
    for token in tokens:
        if token.kind == "string" and _PATH_LIKE.search(token.text[1:-1]):
            return "file paths and URLs are not accepted as procedure arguments"
    return None


_KUZU_FILE_REASON = "statements that read or write the node's files are not allowed; use the ingestion endpoints"

KUZU_DIALECT = Dialect(
    name="kuzu",
    forbidden={
        "COPY": _KUZU_FILE_REASON,
        "LOAD": _KUZU_FILE_REASON,
        "IMPORT": _KUZU_FILE_REASON,
        "EXPORT": _KUZU_FILE_REASON + " (use the backup endpoint)",
        "ATTACH": "queries are scoped to one database",
        "DETACH": "queries are scoped to one database",
        "USE": "queries are scoped to one database",
        "INSTALL": "extensions are managed by the node",
        "UNINSTALL": "extensions are managed by the node",
        "BEGIN": "each request runs in its own transaction",
        "COMMIT": "each request runs in its own transaction",
        "ROLLBACK": "each request runs in its own transaction",
        "CURRENT_SETTING": "engine settings are not visible to tenants",
    },
    write_keywords=frozenset(
        {"CREATE", "MERGE", "SET", "DELETE", "REMOVE", "DROP", "ALTER", "COPY", "CHECKPOINT", "COMMENT"}
    ),
    read_only_procedures=frozenset(
        {"show_tables", "table_info", "show_connection", "db_version", "show_indexes", "show_functions",
         "show_warnings", "show_macros", "show_sequences", "show_official_extensions", "show_loaded_extensions",
         "query_fts_index", "query_vector_index"}
    ),
    rules=(_kuzu_no_configuration, _kuzu_no_file_arguments),
)
