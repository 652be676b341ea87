"""Cypher tokens: the lexical layer under the statement policy (security/policy.py) and the DDL
splitters (schemas/, backends/neo4j/ddl.py).

Comments and whitespace are dropped; string literals and backtick-quoted names are single tokens, so
`RETURN 'COPY'` holds no COPY keyword and `/* */COPY` does. The rules follow what Kuzu 0.11.3 and
LadybugDB 0.22.0 accept (measured, docs/engine-facts.md): backslash escapes inside strings,
block comments that do not nest, `//` line comments, and Unicode spaces as whitespace, including
U+180E, which Python's `\\s` does not match but the engines' lexer does. Words take any Unicode letter,
so `readé_parquet(` is one (unknown) name and never `_parquet(`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from node_api.backends.errors import InvalidQuery

# openCypher's IdentifierPart includes currency symbols (Unicode category Sc), and so do the engines'
# lexers: `x$` and `x€` are one name there. Here too, or `UNWIND [1] AS x$ LOAD FROM ...` would read
# as a parameter `$LOAD` to the policy while the engine runs a LOAD (a file read, found by attacking).
_CURRENCY = "".join(re.escape(c) for c in map(chr, range(0x110000)) if unicodedata.category(c) == "Sc")

# U+180E, U+200B and U+FEFF: treated as whitespace here so that a name cannot hide from the policy
# behind a character the engine skips (U+180E) or rejects (the other two: a parse error either way).
_SPACE = r"[\s\u180e\u200b\ufeff]+"

_TOKEN = re.compile(
    rf"""
    (?P<ws>{_SPACE})
  | (?P<line_comment>//[^\n]*)
  | (?P<block_comment>/\*.*?(?:\*/|\Z))
  | (?P<string>'(?:[^'\\]|\\.)*(?:'|\Z)|"(?:[^"\\]|\\.)*(?:"|\Z))
  | (?P<quoted>`(?:[^`]|``)*(?:`|\Z))
  | (?P<word>[^\W\d][\w{_CURRENCY}]*)
  | (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)
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

    @property
    def name(self) -> str | None:
        """The identifier this token spells (a word, or a backtick-quoted name without its quotes),
        upper-cased as the engines compare function names; None for other tokens."""
        if self.kind == "word":
            return self.text.upper()
        if self.kind == "quoted":
            return self.text[1:-1].replace("``", "`").upper()
        return None


def tokenize(text: str) -> list[Token]:
    """Tokens of `text` without whitespace and comments. Raises InvalidQuery on an unterminated
    string, quoted name or comment."""
    tokens: list[Token] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "punct"
        value = match.group()
        if kind == "block_comment" and not value.endswith("*/"):
            raise InvalidQuery("unterminated comment")
        if kind in ("ws", "line_comment", "block_comment"):
            continue
        if kind in ("string", "quoted") and (len(value) < 2 or value[-1] != value[0]):
            raise InvalidQuery("unterminated string or quoted name")
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


def keyword_positions(tokens: list[Token]) -> list[int]:
    """Indexes of word tokens that act as keywords: not a property (`n.load`), label (`:Load`),
    parameter (`$use`) or map key (`{use: 1}`)."""
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


def dotted_name(tokens: list[Token], start: int) -> tuple[str, int]:
    """The dotted name starting at `start` (`db.index.fulltext.queryNodes`), upper-cased, and the index
    just past it; ("", start) when no name starts there."""
    parts: list[str] = []
    j = start
    while j < len(tokens) and tokens[j].name is not None:
        parts.append(tokens[j].name or "")
        j += 1
        if j + 1 < len(tokens) and tokens[j].text == "." and tokens[j + 1].name is not None:
            j += 1
            continue
        break
    return ".".join(parts), j


def matching_close(tokens: list[Token], open_index: int) -> int:
    """Index of the bracket closing the one at `open_index` (or len(tokens) when unbalanced)."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    stack: list[str] = []
    for j in range(open_index, len(tokens)):
        text = tokens[j].text if tokens[j].kind == "punct" else ""
        if text in pairs:
            stack.append(pairs[text])
        elif stack and text == stack[-1]:
            stack.pop()
            if not stack:
                return j
    return len(tokens)
