"""What a tenant's Cypher may do, per engine profile, by allow-list, with the reason for every entry.

A statement passes two phases:

1. `StatementPolicy.check(cypher)`, the token phase, pure Python in the HTTP process: one statement of
   bounded length, starting with an allowed clause; every function called anywhere (`name(`, backtick
   quoted or not, any case, comments and whitespace ignored) is in the profile's allow-list, and table
   functions only after CALL with reviewed named options; constructs that can only mean a refused
   statement (settings `CALL x = v`, COPY, LOAD, ATTACH, USE, INSTALL, transactions, CREATE MACRO...)
   are refused. Returns the provisional read/write kind.
2. `StatementPolicy.judge_plan(plan_text)`, the plan phase, over the text the engine itself returns for
   `StatementPolicy.explain(cypher)` (Kuzu and LadybugDB print their physical plan for `EXPLAIN <stmt>`
   without running it): every operator is reviewed and allowed, every `Function:` a reviewed table
   function; returns the authoritative kind. `judge(cypher, kind, run)` does explain + judge_plan for
   the code that owns an engine connection. Neo4j has no plan phase (`explain()` is None).

Anything not listed is refused with 403 `forbidden_statement`, so a function or operator that a new
engine version adds stays refused until someone reviews it here. tests/node_api/security/policy/ compare these lists
with each engine's own catalog (`CALL show_functions()`) and with the plans of a statement corpus.
Engine facts behind the entries are in docs/engine-facts.md.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from node_api.backends.base import StatementKind
from node_api.backends.errors import InvalidQuery, QueryForbidden, Unsupported
from node_api.security.cypher_tokens import (
    Token,
    dotted_name,
    keyword_positions,
    matching_close,
    split_statements,
    tokenize,
)

Rule = Callable[[list[Token], list[int]], str | None]


@dataclass(frozen=True)
class TableFunction:
    """A table function (Kuzu, LadybugDB) or procedure (Neo4j) a tenant may CALL."""

    reason: str
    writes: bool = False
    options: frozenset[str] = frozenset()  # named options (`name := value`) accepted, upper-case
    explain_runs_it: bool = False  # EXPLAIN executes it: the token verdict is final
    names_only: bool = False  # arguments must be string literals or lists of them


@dataclass(frozen=True)
class Operator:
    """A physical plan operator a tenant statement may compile to."""

    reason: str
    writes: bool = False


def _names(reason: str, names: str) -> dict[str, str]:
    return dict.fromkeys(names.split(), reason)


_KEPT_VERDICTS = 4096  # statements per profile; at most ~16 MB of text (_KEPT_VERDICT_BYTES each)
# In bytes of the str object, not characters: CPython stores a text holding one emoji at 4 bytes a
# character, so 4096 such texts of 4096 characters kept 129 MB (found by attacking; measured).
_KEPT_VERDICT_BYTES = 4096


@dataclass(frozen=True)
class StatementPolicy:
    """One engine profile. Names are upper-case; dotted for Neo4j procedures (`DB.LABELS`)."""

    engine: str
    statement_starts: Mapping[str, str]  # first keyword -> why statements starting with it are allowed
    refused_starts: Mapping[str, str]  # first keyword -> why refused (anything unlisted is refused too)
    refused_keywords: Mapping[str, str]  # keyword anywhere -> reason
    objects: Mapping[str, Mapping[str, str]]  # CREATE/DROP/... -> object word allowed after it -> reason
    refused_objects: Mapping[str, str]  # object word (MACRO, TYPE...) -> reason
    functions: Mapping[str, str]  # scalar/aggregate functions -> reason
    table_functions: Mapping[str, TableFunction]
    refused_functions: Mapping[str, str]  # functions of any kind -> reason
    syntax_words: frozenset[str]  # words followed by "(" that are syntax, not calls
    write_keywords: frozenset[str]
    write_functions: frozenset[str] = frozenset()  # scalar functions with lasting effects (nextval)
    call_subqueries: bool = False  # CALL { ... } / CALL (x) { ... }
    rules: tuple[Rule, ...] = ()  # extra checks: a reason to refuse, or None
    operators: Mapping[str, Operator] = field(default_factory=dict)
    refused_operators: Mapping[str, str] = field(default_factory=dict)
    plan_functions: Mapping[str, str] = field(default_factory=dict)  # internal plan-only table functions
    has_plan_phase: bool = False
    max_query_length: int = 10_000
    # Functions of reviewed extensions this node has not loaded -> the extension: 400 not_supported.
    missing_extensions: Mapping[str, str] = field(default_factory=dict)
    # Phase-1 verdicts (kind, EXPLAIN statement) of statements that passed, by text: a parameterized
    # statement is checked once, not per request (~65 us each, measured). A fresh one per profile
    # (init=False: dataclasses.replace does not carry it over); refusals are never kept. The EXPLAIN
    # text is rebuilt per call (a flag is kept), or each statement would be kept twice.
    _verdicts: dict[str, tuple[StatementKind, bool]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def limited(self, max_query_length: int) -> StatementPolicy:
        """This profile with the node's query length limit (KUZU_MAX_QUERY_LENGTH)."""
        return dataclasses.replace(self, max_query_length=max_query_length)

    def with_extensions(self, loaded: frozenset[str] | set[str]) -> StatementPolicy:
        """This profile with the functions of the `loaded` extensions allowed; those of every other
        reviewed extension answer 400 not_supported naming it (EXTENSIONS). Kuzu's profile has its
        statically linked four already."""
        functions, table_functions = dict(self.functions), dict(self.table_functions)
        refused = dict(self.refused_functions)
        missing: dict[str, str] = {}
        for name, extension in EXTENSIONS.items():
            names = {*extension.functions, *extension.table_functions}
            if name in loaded:
                functions.update(extension.functions)
                table_functions.update(extension.table_functions)
            elif not names <= {*self.functions, *self.table_functions}:
                missing.update(dict.fromkeys(names, name))
        if "fts" in loaded:
            # Kuzu 0.11.3's fact (FTS makes macros, then show_functions segfaults), assumed of the fork too.
            table_functions.pop("SHOW_FUNCTIONS", None)
            refused["SHOW_FUNCTIONS"] = _KUZU_EXTENSION_REFUSED["SHOW_FUNCTIONS"]
        return dataclasses.replace(self, functions=functions, table_functions=table_functions,
                                   refused_functions=refused, missing_extensions=missing)

    def _missing(self, name: str) -> None:
        extension = self.missing_extensions.get(name)
        if extension is not None:
            raise Unsupported(f"{name} needs the {extension} extension, which this node has not loaded "
                              "(LADYBUG_EXTENSION_DIR, docs/engine-facts.md)", extension=extension, function=name)

    # ---- phase 1: tokens

    def check(self, cypher: str) -> StatementKind:
        """The provisional kind of a tenant statement. Raises InvalidQuery (empty, too long, not
        exactly one statement, unterminated string) or QueryForbidden (with the reason)."""
        return self._verdict(cypher)[0]

    def explain(self, cypher: str) -> str | None:
        """The statement whose result is the plan text for judge_plan, or None when there is no plan
        phase for it: engines without one (Neo4j), and statements whose EXPLAIN would run them (Kuzu
        0.11.3 executes CREATE_FTS_INDEX and the other index functions under EXPLAIN, measured).
        Raises what check() raises."""
        return self._verdict(cypher)[1]

    def _verdict(self, cypher: str) -> tuple[StatementKind, str | None]:
        known = self._verdicts.get(cypher)
        if known is None:
            known = self._judge_tokens(cypher)
            if sys.getsizeof(cypher) <= _KEPT_VERDICT_BYTES:
                if len(self._verdicts) >= _KEPT_VERDICTS:
                    self._verdicts.clear()  # a tenant cycling through distinct texts: start over
                self._verdicts[cypher] = known
        kind, planned = known
        return kind, "EXPLAIN " + cypher if planned else None

    def _judge_tokens(self, cypher: str) -> tuple[StatementKind, bool]:
        """Phase 1 itself: the kind, and whether the statement has a plan phase."""
        tokens = self._statement(cypher)
        keywords = keyword_positions(tokens)
        self._check_start(tokens)
        self._check_keywords(tokens, keywords)
        called = self._check_calls(tokens, keywords)
        for rule in self.rules:
            if reason := rule(tokens, keywords):
                raise QueryForbidden(reason)
        writes = any(tokens[i].upper in self.write_keywords for i in keywords)
        writes = writes or any(self._writes(name) for name in called)
        planned = self.has_plan_phase
        for name in called:
            spec = self.table_functions.get(name)
            if spec is not None and spec.explain_runs_it:
                planned = False
        return StatementKind.WRITE if writes else StatementKind.READ, planned

    def _statement(self, cypher: str) -> list[Token]:
        if not cypher or not cypher.strip():
            raise InvalidQuery("the query is empty")
        if len(cypher) > self.max_query_length:
            raise InvalidQuery(
                f"the query is {len(cypher)} characters long; the limit is {self.max_query_length}",
                max_query_length=self.max_query_length,
            )
        statements = split_statements(tokenize(cypher))
        if len(statements) != 1:
            raise InvalidQuery("send exactly one statement per request")
        _check_nesting(statements[0])
        return statements[0]

    def _check_start(self, tokens: list[Token]) -> None:
        first = tokens[0].upper if tokens[0].kind == "word" else tokens[0].text
        if first in self.statement_starts:
            return
        if reason := self.refused_starts.get(first):
            raise QueryForbidden(f"{first} is not allowed: {reason}", keyword=first)
        # A typo (MATC) or a statement no reviewed grammar has: refused all the same, as a bad request.
        raise InvalidQuery(f"{first} does not start a statement this API runs; statements start with "
                           + ", ".join(sorted(self.statement_starts)), keyword=first)

    def _check_keywords(self, tokens: list[Token], keywords: list[int]) -> None:
        for pos, i in enumerate(keywords):
            word = tokens[i].upper
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if word == "DETACH" and nxt is not None and nxt.upper == "DELETE":
                continue
            if reason := self.refused_keywords.get(word):
                raise QueryForbidden(f"{word} is not allowed: {reason}", keyword=word)
            allowed = self.objects.get(word)
            if allowed is None or nxt is None:
                continue
            if word == "CREATE" and pos > 0 and tokens[keywords[pos - 1]].upper == "ON" \
                    and keywords[pos - 1] == i - 1:
                continue  # MERGE ... ON CREATE SET
            if nxt.kind == "punct" and nxt.text == "(":
                continue  # a pattern: CREATE (a)-[:R]->(b)
            if nxt.kind == "word" and i + 2 < len(tokens) and tokens[i + 2].text == "=":
                continue  # a named path: CREATE p = (...)
            obj = nxt.upper if nxt.kind == "word" else nxt.text
            if obj not in allowed:
                reason = self.refused_objects.get(obj, f"{word} {obj} is not reviewed for {self.engine}")
                raise QueryForbidden(f"{word} {obj} is not allowed: {reason}", keyword=f"{word} {obj}")

    def _check_calls(self, tokens: list[Token], keywords: list[int]) -> list[str]:
        """Checks every CALL and every `name(`; returns the names called."""
        called: list[str] = []
        keyword_set = set(keywords)
        call_targets: set[int] = set()
        for i in keywords:
            if tokens[i].upper == "CALL":
                name, end = self._check_call(tokens, i)
                if name:
                    called.append(name)
                    call_targets.add(end - 1)
        for i, token in enumerate(tokens):
            if token.kind != "punct" or token.text != "(" or i == 0 or tokens[i - 1].name is None:
                continue
            if i - 1 in call_targets:
                continue
            start = i - 1
            while start >= 2 and tokens[start - 1].text == "." and tokens[start - 2].name is not None:
                start -= 2
            name, _ = dotted_name(tokens, start)
            if "." not in name and name in self.syntax_words and start in keyword_set:
                continue
            if self._names_a_definition(tokens, start):
                continue
            called.append(name)
            if name in self.functions:
                continue
            self._missing(name)
            if name in self.refused_functions:
                raise QueryForbidden(f"function {name} is not allowed: {self.refused_functions[name]}",
                                     function=name)
            if name in self.table_functions:
                raise QueryForbidden(f"{name} is a table function: use CALL {name}(...)", function=name)
            raise QueryForbidden(f"function {name} is not allowed: it is not reviewed for {self.engine}",
                                 function=name)
        return called

    def _check_call(self, tokens: list[Token], i: int) -> tuple[str, int]:
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if nxt is not None and nxt.kind == "punct" and nxt.text in ("{", "(") and self.call_subqueries:
            return "", i + 1
        name, end = dotted_name(tokens, i + 1)
        if not name:
            raise QueryForbidden("CALL must name an allowed table function", keyword="CALL")
        after = tokens[end] if end < len(tokens) else None
        if after is not None and after.text == "=":
            raise QueryForbidden(f"CALL {name}=... is not allowed: engine settings belong to the node",
                                 setting=name)
        self._missing(name)
        if name in self.refused_functions:
            raise QueryForbidden(f"CALL {name} is not allowed: {self.refused_functions[name]}", function=name)
        spec = self.table_functions.get(name)
        if spec is None:
            raise QueryForbidden(f"CALL {name} is not allowed: it is not reviewed for {self.engine}",
                                 function=name)
        if after is not None and after.text == "(":
            self._check_arguments(name, spec, tokens[end + 1 : matching_close(tokens, end)])
        return name, end

    @staticmethod
    def _check_arguments(name: str, spec: TableFunction, args: list[Token]) -> None:
        for j, token in enumerate(args):
            if token.name is not None and j + 2 < len(args) and args[j + 1].text == ":" \
                    and args[j + 2].text == "=":
                option = token.name
                if option not in spec.options:
                    raise QueryForbidden(f"option {option.lower()} of {name} is not allowed"
                                         + (": " + _OPTION_REASONS[option] if option in _OPTION_REASONS else ""),
                                         function=name, option=option.lower())
        if spec.names_only and any(t.kind != "string" and t.text not in ("[", "]", ",") for t in args):
            raise QueryForbidden(f"{name} takes table names only (string literals and lists of them): "
                                 "filter predicates are Cypher text this policy cannot check", function=name)

    @staticmethod
    def _names_a_definition(tokens: list[Token], start: int) -> bool:
        # CREATE NODE TABLE P(...), CREATE REL TABLE GROUP G(...), ... IF NOT EXISTS P(...)
        before = tokens[start - 1].upper if start > 0 and tokens[start - 1].kind == "word" else ""
        if before in ("TABLE", "GROUP"):
            return True
        return before == "EXISTS" and start >= 3 and tokens[start - 2].upper == "NOT" \
            and tokens[start - 3].upper == "IF"

    def _writes(self, name: str) -> bool:
        spec = self.table_functions.get(name)
        return name in self.write_functions or (spec is not None and spec.writes)

    # ---- phase 2: the engine's plan

    def judge(self, cypher: str, token_kind: StatementKind, run: Callable[[str], str]) -> StatementKind:
        """Phase 2 end to end, for the code that owns an engine connection: `run(statement)` executes
        explain()'s statement with the request's parameters (Kuzu binds their types) and returns the
        single cell of its single row; an engine error it raises is the statement's own error (the
        statement was not run). Returns the authoritative kind; `token_kind` when there is no plan
        phase for the statement."""
        statement = self.explain(cypher)
        if statement is None:
            return token_kind
        return self.judge_plan(run(statement), token_kind)

    def judge_plan(self, plan_text: str, token_kind: StatementKind = StatementKind.READ) -> StatementKind:
        """The authoritative kind from the engine's own plan (the one-row result of explain()).
        Pass check()'s kind as `token_kind`: a plan does not show functions with lasting effects
        (nextval). Raises QueryForbidden for a refused or unreviewed operator or table function."""
        if not self.has_plan_phase:
            raise ValueError(f"the {self.engine} profile has no plan phase")
        writes = token_kind is StatementKind.WRITE
        refusals: dict[str, str] = {}
        for op in plan_operators(plan_text):
            spec = self.operators.get(op)
            if op in self.refused_operators:
                refusals[op] = self.refused_operators[op]
            elif spec is None:
                refusals[op] = f"not reviewed for this {self.engine} version"
            else:
                writes = writes or spec.writes
        if refusals:
            raise QueryForbidden("the statement compiles to operators that are not allowed: " + "; ".join(
                f"{op} ({reason})" for op, reason in refusals.items()), operators=sorted(refusals))
        for name in plan_functions(plan_text):
            if name in self.plan_functions:
                continue
            spec_f = self.table_functions.get(name)
            if spec_f is None:
                reason = self.refused_functions.get(name, f"it is not reviewed for this {self.engine} version")
                raise QueryForbidden(f"the statement calls {name}, which is not allowed: {reason}", function=name)
            writes = writes or spec_f.writes
        return StatementKind.WRITE if writes else StatementKind.READ


# Nesting the engines' parsers cannot take (Kuzu 0.11.3 and LadybugDB 0.22.0 alike, measured on a real
# node; docs/engine-facts.md): lists or maps nested ~1000 deep overflow the parser's stack (SIGSEGV),
# and parsing time grows steeply with depth: 200 nested lists take ~4 s, 300 ~10 s, and each nested
# `CASE WHEN` ~1.6x the one inside it (20 deep: 1.8 s, 24: past any timeout). Parsing is not
# interrupted by the engine's query timeout: the node kills the worker at timeout + grace. Refused
# here, before any work, well below either (parameters nest at most 64 levels too, models/values.py).
MAX_NESTING = 64  # brackets of any kind (lists, maps, parentheses, patterns), open at once
MAX_CASE_NESTING = 12  # CASE expressions open at once


def _check_nesting(tokens: list[Token]) -> None:
    depth = cases = 0
    keywords = set(keyword_positions(tokens))  # `n.end`, `{end: 1}` close nothing
    for i, token in enumerate(tokens):
        if token.kind == "punct" and token.text in "([{":
            depth += 1
            if depth > MAX_NESTING:
                raise InvalidQuery(f"the query nests brackets more than {MAX_NESTING} levels deep",
                                   max_nesting=MAX_NESTING)
        elif token.kind == "punct" and token.text in ")]}":
            depth -= 1
        elif i in keywords and token.upper == "CASE":
            cases += 1
            if cases > MAX_CASE_NESTING:
                raise InvalidQuery(f"the query nests CASE expressions more than {MAX_CASE_NESTING} levels deep",
                                   max_case_nesting=MAX_CASE_NESTING)
        elif i in keywords and token.upper == "END" and cases:
            cases -= 1


# ---- reading Kuzu/LadybugDB plan text (src/main/plan_printer.cpp): boxes of equal width in rows; a
# box's first line is `NAME[id]`, its parameters follow one per line (`Function: NAME`, ...).

_OPERATOR = re.compile(r"^[A-Z][A-Z0-9_ ]*\[\d+\]$")
_FUNCTION = re.compile(r"Function: ([A-Za-z_][A-Za-z0-9_]*)")
_FRAME = set("┌─┴┐ ")


def plan_operators(plan_text: str) -> list[str]:
    """Operator names of a printed physical plan, in print order. Raises QueryForbidden if the text is
    not a plan this parser understands (refusing beats guessing). Text a statement puts into the plan
    (string literals in expressions) can only add names here, never hide the engine's own."""
    lines = plan_text.splitlines()
    if len(lines) < 6 or "Physical Plan" not in lines[2]:
        raise QueryForbidden("the engine's plan for this statement could not be read")
    ops: list[str] = []
    for n, line in enumerate(lines[5:-1], start=5):
        if "┌" not in line or not set(line) <= _FRAME:
            continue
        for col, char in enumerate(line):
            if char != "┌":
                continue
            end = line.find("┐", col)
            header = lines[n + 1][col : end + 1 if end > 0 else None].strip("│ ")
            if not _OPERATOR.match(header):
                raise QueryForbidden("the engine's plan for this statement could not be read")
            ops.append(header[: header.rindex("[")])
    if not ops:
        raise QueryForbidden("the engine's plan for this statement could not be read")
    return ops


def plan_functions(plan_text: str) -> list[str]:
    """Table function names (`Function: NAME`) in a printed plan, upper-case."""
    return [name.upper() for name in _FUNCTION.findall(plan_text)]


# ---- shared Cypher facts

_CLAUSE_SYNTAX = frozenset("""
    MATCH OPTIONAL WHERE AND OR XOR NOT IN RETURN WITH UNWIND AS CREATE MERGE SET DELETE DETACH REMOVE
    CASE WHEN THEN ELSE END IS DISTINCT ON BY ORDER SKIP LIMIT YIELD UNION STARTS ENDS CALL
""".split())

_FILES = "it reads or writes the node's files; load data through the ingestion endpoints"
_SETTINGS = "engine settings belong to the node, not to a tenant"
_OTHER_DBS = "a request is scoped to its own database"
_TRANSACTIONS = "each request runs in its own transaction"
_EXTENSIONS = "extensions are managed by the node"
_PLANS = "plans are not exposed; the node runs EXPLAIN itself to vet statements"
_INTERNALS = "it exposes storage internals of the node, not the tenant's schema"

_OPTION_REASONS = {
    "STOPWORDS": "it takes a file path or a table name and reads the file (a wrong path answers "
                 "'not a valid file path': an existence oracle); the built-in English list is used",
    "TOKENIZER": "the jieba tokenizer reads dictionary files from a build path; not reviewed",
}

# ---- Kuzu 0.11.3

_PURE = "a pure computation over the statement's own values"
_GRAPH = "reads the tenant's own graph elements"

_KUZU_COMMON_FUNCTIONS = _names(_PURE, """
    ABS ACOS ALL ANY ARRAY_APPEND ARRAY_CAT ARRAY_CONCAT ARRAY_CONTAINS ARRAY_COSINE_SIMILARITY
    ARRAY_CROSS_PRODUCT ARRAY_DISTANCE ARRAY_DOT_PRODUCT ARRAY_EXTRACT ARRAY_HAS ARRAY_INDEXOF
    ARRAY_INNER_PRODUCT ARRAY_POSITION ARRAY_PREPEND ARRAY_PUSH_BACK ARRAY_PUSH_FRONT ARRAY_SLICE
    ARRAY_SQUARED_DISTANCE ARRAY_VALUE ASIN ATAN ATAN2 AVG BITSHIFT_LEFT BITSHIFT_RIGHT BITWISE_AND
    BITWISE_OR BITWISE_XOR BLOB CARDINALITY CAST CBRT CEIL CEILING CENTURY COALESCE COLLECT CONCAT
    CONCAT_WS CONSTANT_OR_NULL CONTAINS COS COT COUNT COUNT_IF COUNT_STAR CURRENT_DATE CURRENT_TIMESTAMP
    DATE DATEPART DATETRUNC DATE_PART DATE_TRUNC DAYNAME DECODE DEGREES DURATION ELEMENT_AT ENCODE
    ENDS_WITH EPOCH_MS EQUALS ERROR EVEN FACTORIAL FLOOR GAMMA GEN_RANDOM_UUID GREATER_THAN
    GREATER_THAN_EQUALS GREATEST HASH IFNULL INITCAP INTERVAL LAST_DAY LCASE LEAST LEFT LESS_THAN
    LESS_THAN_EQUALS LEVENSHTEIN LGAMMA LIST_ANY_VALUE LIST_APPEND LIST_CAT LIST_CONCAT LIST_CONTAINS
    LIST_CREATION LIST_DISTINCT LIST_ELEMENT LIST_EXTRACT LIST_FILTER LIST_HAS LIST_HAS_ALL LIST_INDEXOF
    LIST_POSITION LIST_PREPEND LIST_PRODUCT LIST_REDUCE LIST_REVERSE LIST_REVERSE_SORT LIST_SLICE
    LIST_SORT LIST_SUM LIST_TO_STRING LIST_TRANSFORM LIST_UNIQUE LN LOG LOG10 LOG2 LOWER LPAD LTRIM
    MAKE_DATE MAP MAP_EXTRACT MAP_KEYS MAP_VALUES MAX MD5 MIN MONTHNAME NEGATE NONE NOT_EQUALS NULLIF
    OCTET_LENGTH PI POW PREFIX RADIANS RANGE REGEXP_EXTRACT REGEXP_EXTRACT_ALL REGEXP_FULL_MATCH
    REGEXP_MATCHES REGEXP_REPLACE REGEXP_SPLIT_TO_ARRAY REPEAT REVERSE RIGHT ROUND RPAD RTRIM SHA256 SIGN
    SIN SINGLE SIZE SPLIT_PART SQRT STARTS_WITH STRING STRING_SPLIT STRING_TO_ARRAY STRUCT_EXTRACT
    STRUCT_PACK STR_SPLIT SUBSTR SUBSTRING SUFFIX SUM TAN TIMESTAMP TOLOWER TOUPPER TO_BLOB TO_BOOL
    TO_DATE TO_DAYS TO_DOUBLE TO_EPOCH_MS TO_FLOAT TO_HOURS TO_INT128 TO_INT16 TO_INT32 TO_INT64 TO_INT8
    TO_INTERVAL TO_MICROSECONDS TO_MILLISECONDS TO_MINUTES TO_MONTHS TO_SECONDS TO_SERIAL TO_STRING
    TO_TIMESTAMP TO_UINT16 TO_UINT32 TO_UINT64 TO_UINT8 TO_UUID TO_YEARS TRIM TYPEOF UCASE UNION_EXTRACT
    UNION_TAG UNION_VALUE UPPER UUID
""") | _names(_GRAPH, """
    COST END_NODE ID INTERNAL_ID IS_ACYCLIC IS_TRAIL KEYS LABEL LABELS LENGTH NODES OFFSET PROPERTIES
    RELATIONSHIPS RELS START_NODE
""") | _names("reads a sequence of the tenant's own database", "CURRVAL") | _names(
    "advances a sequence of the tenant's own database (a write)", "NEXTVAL") | _names(
    # Operators are catalog entries too; they never appear as `name(`.
    "an arithmetic operator", "% * + - / ^")

_JSON_FUNCTIONS = _names(_PURE + " (JSON extension)", """
    ARRAY_TO_JSON CAST_TO_JSON JSON JSON_ARRAY JSON_ARRAY_LENGTH JSON_CONTAINS JSON_EXTRACT JSON_KEYS
    JSON_MERGE_PATCH JSON_OBJECT JSON_QUOTE JSON_STRUCTURE JSON_VALID ROW_TO_JSON TO_JSON
""")
_FTS_FUNCTIONS = _names(_PURE + " (FTS extension)", "STEM")
_KUZU_EXTENSION_FUNCTIONS = _JSON_FUNCTIONS | _FTS_FUNCTIONS  # statically linked into Kuzu 0.11.3

_INTROSPECTION = "schema introspection of the tenant's own database"
_PROJECTED = ("projected graphs live on one engine connection, in memory; nothing reaches disk "
              "(a pooled connection may not be the next request's)")
_ALGORITHM = "a graph algorithm over a projected graph of the tenant's own tables (read only)"
_ALGO_OPTIONS = frozenset({"MAXPHASES", "MAXITERATIONS", "DAMPINGFACTOR", "TOLERANCE", "NORMALIZEINITIAL",
                           "VARIANT", "WEIGHT_PROPERTY"})

_KUZU_COMMON_TABLE_FUNCTIONS: dict[str, TableFunction] = {
    **{name: TableFunction(_INTROSPECTION) for name in (
        "SHOW_TABLES", "TABLE_INFO", "SHOW_CONNECTION", "SHOW_INDEXES", "SHOW_SEQUENCES", "DB_VERSION", "CATALOG_VERSION", "SHOW_PROJECTED_GRAPHS", "PROJECTED_GRAPH_INFO")},
    "SHOW_WARNINGS": TableFunction("the warnings of the tenant's own last statements on this connection"),
    "CLEAR_WARNINGS": TableFunction("clears the connection's warning list, nothing else"),
    "SHOW_LOADED_EXTENSIONS": TableFunction("lists what the node loaded; changes nothing"),
    "SHOW_OFFICIAL_EXTENSIONS": TableFunction("a fixed list compiled into the engine"),
    "PROJECT_GRAPH": TableFunction(_PROJECTED, names_only=True),
    "DROP_PROJECTED_GRAPH": TableFunction(_PROJECTED),
}

_FTS_TABLE_FUNCTIONS: dict[str, TableFunction] = {
    "QUERY_FTS_INDEX": TableFunction("full-text search of the tenant's own index",
                                     options=frozenset({"K", "B", "CONJUNCTIVE", "TOP"})),
    "CREATE_FTS_INDEX": TableFunction("builds a full-text index on the tenant's own table", writes=True,
                                      options=frozenset({"STEMMER", "IGNORE_PATTERN"}), explain_runs_it=True),
    "DROP_FTS_INDEX": TableFunction("drops the tenant's own full-text index", writes=True, explain_runs_it=True),
}
_VECTOR_TABLE_FUNCTIONS: dict[str, TableFunction] = {
    "QUERY_VECTOR_INDEX": TableFunction("nearest-neighbour search of the tenant's own index",
                                        options=frozenset({"EFS", "BLIND_SEARCH_UP_SEL",
                                                           "DIRECTED_SEARCH_UP_SEL"})),
    "CREATE_VECTOR_INDEX": TableFunction("builds an HNSW index on the tenant's own table", writes=True,
                                         options=frozenset({"MU", "ML", "PU", "METRIC", "ALPHA", "EFC",
                                                            "CACHE_EMBEDDINGS", "SKIP_IF_EXISTS"}),
                                         explain_runs_it=True),
    "DROP_VECTOR_INDEX": TableFunction("drops the tenant's own vector index", writes=True,
                                       options=frozenset({"SKIP_IF_NOT_EXISTS"}), explain_runs_it=True),
}
_ALGO_TABLE_FUNCTIONS: dict[str, TableFunction] = {
    name: TableFunction(_ALGORITHM, options=_ALGO_OPTIONS) for name in (
        "PAGE_RANK", "PR", "WCC", "WEAKLY_CONNECTED_COMPONENTS", "SCC", "STRONGLY_CONNECTED_COMPONENTS",
        "SCC_KO", "STRONGLY_CONNECTED_COMPONENTS_KOSARAJU", "KCORE", "K_CORE_DECOMPOSITION", "LOUVAIN")}
_KUZU_EXTENSION_TABLE_FUNCTIONS = _FTS_TABLE_FUNCTIONS | _VECTOR_TABLE_FUNCTIONS | _ALGO_TABLE_FUNCTIONS


@dataclass(frozen=True)
class Extension:
    """An engine extension the node may load (reviewed: its functions, by the Kuzu 0.11.3 lists, where
    these four are statically linked; LadybugDB 0.22.0 loads them from files, LADYBUG_EXTENSION_DIR)."""

    functions: Mapping[str, str]
    table_functions: Mapping[str, TableFunction]


EXTENSIONS: Mapping[str, Extension] = {
    "algo": Extension({}, _ALGO_TABLE_FUNCTIONS),
    "fts": Extension(_FTS_FUNCTIONS, _FTS_TABLE_FUNCTIONS),
    "json": Extension(_JSON_FUNCTIONS, {}),
    "vector": Extension({}, _VECTOR_TABLE_FUNCTIONS),
}


_KUZU_COMMON_REFUSED: dict[str, str] = {
    "CURRENT_SETTING": _SETTINGS,
    **_names(_FILES, "READ_CSV_PARALLEL READ_CSV_SERIAL READ_PARQUET READ_NPY COPY_CSV COPY_PARQUET"),
    "READ_PANDAS": "it reads Python objects of the node process by name",
    **_names(_INTERNALS, "BM_INFO FILE_INFO FSM_INFO STORAGE_INFO STATS_INFO"),
    "SHOW_ATTACHED_DATABASES": _OTHER_DBS,
    "PROJECT_GRAPH_CYPHER": "its argument is a second Cypher statement this policy cannot check",
    "_CACHE_ARRAY_COLUMN_LOCALLY": "an engine-internal function",
}

_KUZU_EXTENSION_REFUSED: dict[str, str] = {
    **_names(_FILES, "JSON_SCAN COPY_JSON"),
    # Measured on 0.11.3: once a database holds a macro, and CREATE_FTS_INDEX makes some, this call
    # segfaults the process, for good (after a reopen, after DROP_FTS_INDEX).
    "SHOW_FUNCTIONS": "it crashes Kuzu 0.11.3 once the database has a full-text index or a macro",
}

_KUZU_STARTS = _names("a query or update of the tenant's own graph", "MATCH OPTIONAL UNWIND WITH RETURN "
                      "CREATE MERGE CALL") | _names("schema change of the tenant's own database",
                                                    "DROP ALTER COMMENT")

_KUZU_REFUSED_KEYWORDS: dict[str, str] = {
    **_names(_FILES, "COPY LOAD IMPORT EXPORT"),
    **_names(_OTHER_DBS, "ATTACH DETACH USE"),
    **_names(_EXTENSIONS, "INSTALL UNINSTALL FORCE"),
    **_names(_TRANSACTIONS, "BEGIN COMMIT ROLLBACK CHECKPOINT"),
    **_names(_PLANS, "EXPLAIN PROFILE"),
    "MACRO": "macros are stored in the graph for good (Kuzu 0.11.3 has no DROP MACRO) and one makes "
             "CALL show_functions() crash the node",
}

_KUZU_OBJECTS: dict[str, dict[str, str]] = {
    "CREATE": _names("a node or relationship table (schema)", "NODE REL") | _names(
        "a sequence of the tenant's own database", "SEQUENCE"),
    "DROP": _names("a table of the tenant's own database", "TABLE") | _names("a sequence", "SEQUENCE"),
    "ALTER": _names("a table of the tenant's own database", "TABLE"),
    "COMMENT": _names("a comment on a table", "ON"),
}

_KUZU_REFUSED_OBJECTS = {
    "MACRO": _KUZU_REFUSED_KEYWORDS["MACRO"],
    "TYPE": "user-defined types persist in the catalog and are not reviewed",
    "GRAPH": "graphs are databases, managed by the node",
}

# PRIMARY KEY(id), DEFAULT (expr), DECIMAL(10, 2), STRUCT(a INT64), UNION(...), -[* WSHORTEST(w)]->
_KUZU_SYNTAX = _CLAUSE_SYNTAX | frozenset({"KEY", "DEFAULT", "DECIMAL", "STRUCT", "UNION", "WSHORTEST"})

_KUZU_OPERATORS: dict[str, Operator] = {
    **{name: Operator("reads or shapes rows of the tenant's own graph") for name in (
        "RESULT_COLLECTOR", "PROJECTION", "SCAN_NODE_TABLE", "SCAN_REL_TABLE", "PRIMARY_KEY_SCAN_NODE_TABLE",
        "FILTER", "FLATTEN", "HASH_JOIN_BUILD", "HASH_JOIN_PROBE", "INTERSECT_BUILD", "INTERSECT",
        "CROSS_PRODUCT", "AGGREGATE", "AGGREGATE_FINALIZE", "AGGREGATE_SCAN", "ORDER_BY", "ORDER_BY_MERGE",
        "ORDER_BY_SCAN", "TOP_K", "TOP_K_SCAN", "LIMIT", "SKIP", "UNWIND", "UNION_ALL_SCAN",
        "MULTIPLICITY_REDUCER", "SEMI_MASKER", "PATH_PROPERTY_PROBE", "RECURSIVE_EXTEND", "EMPTY_RESULT",
        "DUMMY_SINK", "INDEX_LOOKUP")},
    "TABLE_FUNCTION_CALL": Operator("runs a table function; each one is checked by name"),
    **{name: Operator("changes the tenant's own graph or schema", writes=True) for name in (
        "INSERT", "SET_PROPERTY", "DELETE", "MERGE", "CREATE_TABLE", "CREATE_SEQUENCE", "DROP", "ALTER")},
}

_KUZU_REFUSED_OPERATORS: dict[str, str] = {
    **_names(_OTHER_DBS, "ATTACH_DATABASE DETACH_DATABASE USE_DATABASE"),
    **_names(_FILES, "COPY_TO EXPORT_DATABASE IMPORT_DATABASE"),
    **_names("bulk COPY FROM; load data through the ingestion endpoints",
             "BATCH_INSERT PARTITIONER DUMMY_SIMPLE_SINK"),
    "CREATE_MACRO": _KUZU_REFUSED_KEYWORDS["MACRO"],
    "CREATE_TYPE": _KUZU_REFUSED_OBJECTS["TYPE"],
    **_names(_EXTENSIONS, "INSTALL_EXTENSION LOAD_EXTENSION UNINSTALL_EXTENSION EXTENSION_CLAUSE"),
    "PROFILE": _PLANS,
    "TRANSACTION": _TRANSACTIONS,
    "STANDALONE_CALL": _SETTINGS,
}

_PLAN_FUNCTIONS = {"READ_FTABLE": "the plan reading its own intermediate results"}

KUZU = StatementPolicy(
    engine="kuzu",
    statement_starts=_KUZU_STARTS,
    refused_starts=_KUZU_REFUSED_KEYWORDS | {"UPDATE": _EXTENSIONS},
    refused_keywords=_KUZU_REFUSED_KEYWORDS,
    objects=_KUZU_OBJECTS,
    refused_objects=_KUZU_REFUSED_OBJECTS,
    functions=_KUZU_COMMON_FUNCTIONS | _KUZU_EXTENSION_FUNCTIONS,
    table_functions=_KUZU_COMMON_TABLE_FUNCTIONS | _KUZU_EXTENSION_TABLE_FUNCTIONS,
    refused_functions=_KUZU_COMMON_REFUSED | _KUZU_EXTENSION_REFUSED,
    syntax_words=_KUZU_SYNTAX,
    write_keywords=frozenset({"CREATE", "MERGE", "SET", "DELETE", "REMOVE", "DROP", "ALTER", "COMMENT"}),
    write_functions=frozenset({"NEXTVAL"}),
    operators=_KUZU_OPERATORS,
    refused_operators=_KUZU_REFUSED_OPERATORS,
    plan_functions=_PLAN_FUNCTIONS,
    has_plan_phase=True,
)

# ---- LadybugDB 0.22.0: Kuzu's fork. No FTS/vector/algorithm/JSON extension is built in: the node loads
# the files an operator put in LADYBUG_EXTENSION_DIR (`with_extensions`; INSTALL stays refused). A few
# functions and statements are new.

LADYBUG = dataclasses.replace(
    KUZU,
    engine="ladybug",
    functions=_KUZU_COMMON_FUNCTIONS | _names(_PURE, """
        HISTOGRAM LIST_HAS_ANY LIST_MAX LIST_MIN PERCENTILECONT PERCENTILEDISC RANDOM REPLACE TIME_BUCKET
        TO_UINT128
    """) | _names(_GRAPH, "ROWID"),
    table_functions=_KUZU_COMMON_TABLE_FUNCTIONS | {
        "SHOW_FUNCTIONS": TableFunction(_INTROSPECTION + " (safe here: no FTS, and macros are refused)"),
        "SHOW_MACROS": TableFunction(_INTROSPECTION),
        "SHOW_GRAPHS": TableFunction(_INTROSPECTION),
        "STORAGE_VERSION": TableFunction("the storage format version, a constant of the engine"),
    },
    refused_functions=_KUZU_COMMON_REFUSED | {
        "SETSEED": "it changes the random state of a pooled connection that later requests share",
        **_names(_INTERNALS + " (and the node's disk)", "DISK_INFO DISK_SIZE_INFO"),
    },
    refused_starts={**KUZU.refused_starts, "ANALYZE": "not reviewed for ladybug"},
    operators=_KUZU_OPERATORS | {
        "QUERY_PRIMARY_KEY_LOOKUP": Operator("reads the tenant's own primary key index"),
        "COUNT_REL_TABLE": Operator("counts the rows of the tenant's own relationship table"),
    },
    refused_operators=_KUZU_REFUSED_OPERATORS | _names(_KUZU_REFUSED_OBJECTS["GRAPH"], "CREATE_GRAPH USE_GRAPH"),
)

# ---- Neo4j (and ArcadeDB's Bolt server): token phase only. Facts: ArcadeDB runs
# `LOAD CSV FROM 'file:///etc/passwd'` (measured) and neither it nor Neo4j community enforces a
# session's read-only access mode, so this policy is the only barrier.

_NEO4J_ADMIN_OBJECTS = frozenset({
    "DATABASE", "DATABASES", "COMPOSITE", "ALIAS", "ALIASES", "USER", "USERS", "ROLE", "ROLES",
    "PRIVILEGE", "PRIVILEGES", "SERVER", "SERVERS", "SETTING", "SETTINGS", "TRANSACTION",
    "TRANSACTIONS", "PROCEDURES", "FUNCTIONS", "CURRENT",
})


def _neo4j_admin_commands(tokens: list[Token], keywords: list[int]) -> str | None:
    # SHOW/CREATE/DROP <admin object>: databases, users, roles, server settings.
    for pos, i in enumerate(keywords):
        word = tokens[i].upper
        if word not in ("CREATE", "DROP", "SHOW"):
            continue
        for j in keywords[pos + 1 : pos + 4]:
            if tokens[j].upper in _NEO4J_ADMIN_OBJECTS:
                return f"{word} {tokens[j].upper} is an administration command; the node manages databases"
            if tokens[j].upper in ("INDEX", "INDEXES", "CONSTRAINT", "CONSTRAINTS", "NODE", "REL"):
                break
    return None


def _neo4j_file_urls(tokens: list[Token], keywords: list[int]) -> str | None:
    for token in tokens:
        if token.kind == "string" and token.text[1:].lstrip().lower().startswith("file:"):
            return "file: URLs are not allowed"
    return None


def _neo4j_in_transactions(tokens: list[Token], keywords: list[int]) -> str | None:
    for pos, i in enumerate(keywords[:-1]):
        if tokens[i].upper == "IN" and tokens[keywords[pos + 1]].upper in ("TRANSACTIONS", "CONCURRENT"):
            return "CALL { } IN TRANSACTIONS is not allowed: each request runs in one transaction"
    return None


_NEO4J_FUNCTIONS = _names(_PURE, """
    ABS ACOS ALL ANY ASIN ATAN ATAN2 AVG BTRIM CEIL CHAR_LENGTH CHARACTER_LENGTH COALESCE COLLECT COS COT
    COUNT DATE DATETIME DEGREES DURATION E EXISTS EXP FLOOR HAVERSIN HEAD ISEMPTY ISNAN LAST LEFT
    LOCALDATETIME LOCALTIME LOG LOG10 LOWER LTRIM MAX MIN NONE NORMALIZE NULLIF PERCENTILECONT
    PERCENTILEDISC PI POINT RADIANS RAND RANDOMUUID RANGE REDUCE REPLACE REVERSE RIGHT ROUND RTRIM SIGN
    SIN SINGLE SIZE SPLIT SQRT STDEV STDEVP SUBSTRING SUM TAIL TAN TIME TIMESTAMP TOBOOLEAN TOBOOLEANLIST
    TOBOOLEANORNULL TOFLOAT TOFLOATLIST TOFLOATORNULL TOINTEGER TOINTEGERLIST TOINTEGERORNULL TOLOWER
    TOSTRING TOSTRINGLIST TOSTRINGORNULL TOUPPER TRIM UPPER VALUETYPE
    DATE.TRUNCATE DATE.REALTIME DATE.STATEMENT DATE.TRANSACTION
    DATETIME.FROMEPOCH DATETIME.FROMEPOCHMILLIS DATETIME.TRUNCATE DATETIME.REALTIME DATETIME.STATEMENT
    DATETIME.TRANSACTION LOCALDATETIME.TRUNCATE LOCALDATETIME.REALTIME LOCALDATETIME.STATEMENT
    LOCALDATETIME.TRANSACTION LOCALTIME.TRUNCATE LOCALTIME.REALTIME LOCALTIME.STATEMENT
    LOCALTIME.TRANSACTION TIME.TRUNCATE TIME.REALTIME TIME.STATEMENT TIME.TRANSACTION
    DURATION.BETWEEN DURATION.INDAYS DURATION.INMONTHS DURATION.INSECONDS
    POINT.DISTANCE POINT.WITHINBBOX VECTOR.SIMILARITY.COSINE VECTOR.SIMILARITY.EUCLIDEAN
""") | _names(_GRAPH, "ELEMENTID ENDNODE ID KEYS LABELS LENGTH NODES PROPERTIES RELATIONSHIPS STARTNODE TYPE")

# Procedures a tenant may call: schema reads and index queries on its own database. Everything else
# (dbms.*, apoc.*, db.* administration, gds.*...) reaches the server, its files or other databases.
_NEO4J_PROCEDURES = {
    **{name: TableFunction(_INTROSPECTION) for name in (
        "DB.LABELS", "DB.RELATIONSHIPTYPES", "DB.PROPERTYKEYS", "DB.SCHEMA.VISUALIZATION",
        "DB.SCHEMA.NODETYPEPROPERTIES", "DB.SCHEMA.RELTYPEPROPERTIES")},
    **{name: TableFunction("searches the tenant's own index") for name in (
        "DB.INDEX.FULLTEXT.QUERYNODES", "DB.INDEX.FULLTEXT.QUERYRELATIONSHIPS",
        "DB.INDEX.VECTOR.QUERYNODES", "DB.INDEX.VECTOR.QUERYRELATIONSHIPS")},
}

NEO4J = StatementPolicy(
    engine="neo4j",
    statement_starts=_names("a query or update of the tenant's own graph",
                            "MATCH OPTIONAL UNWIND WITH RETURN CREATE MERGE CALL FOREACH")
    | _names("index and constraint management of the tenant's own database", "DROP SHOW"),
    refused_starts={"USE": _OTHER_DBS, "LOAD": _FILES, **_names(_PLANS, "EXPLAIN PROFILE"),
                    "CYPHER": "query options are set by the node",
                    **_names("administration commands are the node's", "ALTER START STOP RENAME GRANT DENY "
                             "REVOKE TERMINATE ENABLE DEALLOCATE REALLOCATE DRYRUN")},
    refused_keywords={
        "LOAD": _FILES, "USE": _OTHER_DBS,
        **_names("access control is managed by the node", "GRANT DENY REVOKE"),
        "TERMINATE": "transactions are managed by the node",
    },
    objects={
        "CREATE": _names("an index or constraint of the tenant's own database",
                         "INDEX CONSTRAINT FULLTEXT VECTOR RANGE TEXT POINT LOOKUP BTREE"),
        "DROP": _names("an index or constraint of the tenant's own database", "INDEX CONSTRAINT"),
    },
    refused_objects=_names("administration commands are the node's", " ".join(sorted(_NEO4J_ADMIN_OBJECTS)))
    | {"OR": "CREATE OR REPLACE is an administration command"},
    functions=_NEO4J_FUNCTIONS,
    table_functions=_NEO4J_PROCEDURES,
    refused_functions={
        **_names("it only has a meaning inside LOAD CSV, which reads files", "FILE LINENUMBER"),
        **_names(_OTHER_DBS, "GRAPH.NAMES GRAPH.BYNAME GRAPH.BYELEMENTID GRAPH.PROPERTIESBYNAME "
                 "DB.NAMEFROMELEMENTID"),
    },
    syntax_words=_CLAUSE_SYNTAX | frozenset({"SHORTESTPATH", "ALLSHORTESTPATHS", "FOREACH", "FOR", "REQUIRE",
                                             "OPTIONS", "EACH"}),
    write_keywords=frozenset({"CREATE", "MERGE", "SET", "DELETE", "REMOVE", "DROP", "FOREACH"}),
    call_subqueries=True,
    rules=(_neo4j_admin_commands, _neo4j_file_urls, _neo4j_in_transactions),
)

PROFILES: Mapping[str, StatementPolicy] = {p.engine: p for p in (KUZU, LADYBUG, NEO4J)}


def policy_for(engine: str, max_query_length: int, extensions: frozenset[str] = frozenset()) -> StatementPolicy:
    """The profile of `engine` ("kuzu", "ladybug", "neo4j") with the node's query length limit and, for
    the embedded engines, the extensions it loaded. Raises KeyError for an engine without a reviewed
    profile."""
    policy = PROFILES[engine].limited(max_query_length)
    return policy.with_extensions(extensions) if policy.has_plan_phase else policy
