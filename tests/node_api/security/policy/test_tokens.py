"""The token phase alone (no engine): the issue's attacks in every spelling, and the kinds it gives."""

from __future__ import annotations

import pytest

from node_api.backends.base import StatementKind
from node_api.backends.errors import InvalidQuery, QueryForbidden
from node_api.security.policy import KUZU, LADYBUG, NEO4J, policy_for

R, W = StatementKind.READ, StatementKind.WRITE
EMBEDDED = [KUZU, LADYBUG]


def spellings(statement: str) -> list[str]:
    """The same statement as a tenant could write it: case, comments, whitespace (Unicode too)."""
    return [
        statement,
        statement.upper(),
        statement.lower(),
        statement.replace(" ", " /* c */ "),
        statement.replace(" ", "\n\t  "),
        statement.replace(" ", "\u3000"),
        statement.replace(" ", "\u180e"),  # a space to the engines' lexer, not to Python's \s
        "// leading comment\n" + statement + " // trailing",
        "/* a; b */ " + statement + " ;",
    ]


# The inputs and their kinds, refused before any engine sees them (EXPLAIN of some of them
# crashes Kuzu: read_parquet segfaults at bind time).
REFUSED = [
    "CALL read_parquet('x') RETURN *",
    "CALL `read_parquet`('x') RETURN *",
    "CALL READ_CSV_SERIAL('/etc/passwd') RETURN *",
    "CALL read_csv_parallel('/etc/passwd') RETURN *",
    "CALL read_npy('/x.npy') RETURN *",
    "CALL read_pandas('df') RETURN *",
    "CALL json_scan('/etc/x.json') RETURN *",
    "LOAD FROM '/etc/passwd' RETURN *",
    "LOAD WITH HEADERS (a STRING) FROM '/etc/passwd' RETURN *",
    "MATCH (n) WITH n LOAD FROM $path RETURN *",
    "RETURN 1. LOAD FROM 'x' RETURN *",
    "CREATE MACRO m(x) AS x + 1",
    "CALL threads=9",
    "CALL `threads`=9",
    "CALL `THREADS` = $n",
    "CALL checkpoint_threshold=1",
    "CALL auto_checkpoint=false",
    "CALL spill_to_disk=false",
    "CALL home_directory='/'",
    "CALL file_search_path='/etc'",
    "CALL timeout=1",
    "CALL enable_zone_map=true",
    "CALL current_setting('threads') RETURN *",
    "RETURN current_setting('home_directory')",
    "RETURN `current_setting`('threads')",
    "CALL create_fts_index('P', 'i', ['name'], stopwords := '/etc/passwd')",
    "CALL create_fts_index('P', 'i', ['name'], stopwords := $file)",
    "CALL create_fts_index('P', 'i', ['name'], `stopwords` := 'stop.csv')",
    "CALL create_fts_index('P', 'i', ['name'], tokenizer := 'jieba')",
    "CALL project_graph('G', {'P': 'n.id > 1'}, ['K'])",
    "CALL project_graph('G', $tables, ['K'])",
    "CALL project_graph_cypher('G', 'MATCH (a)-[k]->(b) RETURN a, k, b')",
    "CALL file_info() RETURN *",
    "CALL bm_info() RETURN *",
    "CALL storage_info('P') RETURN *",
    "CALL show_attached_databases() RETURN *",
    "CALL _cache_array_column_locally('P', 'v')",
    "COPY P FROM '/etc/passwd'",
    "COPY (MATCH (n) RETURN n) TO '/tmp/leak.csv'",
    "COPY P FROM (MATCH (n:P) RETURN n.id)",
    "EXPORT DATABASE '/tmp/leak'",
    "IMPORT DATABASE '/tmp/leak'",
    "ATTACH '/data/other/graph.kuzu' AS o (dbtype kuzu)",
    "DETACH o",
    "USE o",
    "INSTALL httpfs",
    "FORCE INSTALL httpfs",
    "UPDATE httpfs",
    "LOAD EXTENSION '/tmp/evil.so'",
    "LOAD httpfs",
    "UNINSTALL json",
    "BEGIN TRANSACTION",
    "COMMIT",
    "ROLLBACK",
    "CHECKPOINT",
    "CREATE TYPE T AS STRING",
    "CREATE GRAPH g",
    "USE GRAPH g",
    "EXPLAIN MATCH (n) RETURN n",
    "PROFILE MATCH (n) RETURN n",
    "RETURN teleport(1)",
    "RETURN show_tables()",
    "MATCH (n) RETURN readé_parquet(n)",
]


@pytest.mark.parametrize("policy", EMBEDDED, ids=["kuzu", "ladybug"])
@pytest.mark.parametrize("statement", REFUSED)
def test_refused_in_every_spelling(policy, statement: str) -> None:
    for spelling in spellings(statement):
        with pytest.raises(QueryForbidden):
            policy.check(spelling)


def test_kuzu_refuses_show_functions() -> None:
    # Kuzu 0.11.3 segfaults on it once an FTS index (or a macro) exists: tests/node_api/security/policy/test_plans.py.
    with pytest.raises(QueryForbidden, match="crashes Kuzu"):
        KUZU.check("CALL show_functions() RETURN *")
    assert LADYBUG.check("CALL show_functions() RETURN *") is R


def test_ladybug_refuses_what_only_it_has() -> None:
    for statement in ("RETURN setseed(0.5)", "CALL disk_info() RETURN *", "ANALYZE"):
        with pytest.raises(QueryForbidden):
            LADYBUG.check(statement)


KINDS = [
    ("MATCH (n:P) RETURN n.name", R),
    ("MATCH (n:P) RETURN n.load, n.use, {use: 1}, 'COPY' AS copy_count", R),
    ("RETURN `upper`('a')", R),
    ("CALL show_tables() RETURN *", R),
    ("CALL table_info($t) RETURN *", R),
    ("MATCH (a)-[e:K* WSHORTEST(w)]->(b) RETURN cost(e)", R),
    ("MATCH (a:P)-[e:K*1..2 (r, n | WHERE r.w > 0)]->(b:P) RETURN count(*)", R),
    ("RETURN CAST('1' AS DECIMAL(10, 2))", R),
    ("CALL project_graph('G', ['P'], ['K'])", R),
    ("MATCH (a:P) SET a.x = 1", W),
    ("MERGE (a:P {id: 5}) ON CREATE SET a.name = 'x'", W),
    ("MATCH (n) DETACH DELETE n", W),
    ("CREATE NODE TABLE Person(id INT64, name STRING, PRIMARY KEY(id))", W),
    ("CREATE NODE TABLE IF NOT EXISTS Q(id INT64 PRIMARY KEY, t TIMESTAMP DEFAULT current_timestamp())", W),
    ("ALTER TABLE P ADD t INT64 DEFAULT nextval('s')", W),
    ("COMMENT ON TABLE P IS 'x'", W),
    ("RETURN nextval('s')", W),
]


@pytest.mark.parametrize("policy", EMBEDDED, ids=["kuzu", "ladybug"])
@pytest.mark.parametrize(("statement", "kind"), KINDS)
def test_kinds_in_every_spelling(policy, statement: str, kind: StatementKind) -> None:
    for spelling in spellings(statement):
        assert policy.check(spelling) is kind, spelling


def test_kuzu_extension_functions() -> None:
    assert KUZU.check("CALL create_fts_index('P', 'i', ['name'], stemmer := 'porter')") is W
    assert KUZU.check("CALL query_fts_index('P', 'i', 'q', conjunctive := true) RETURN *") is R
    assert KUZU.check("CALL page_rank('G', maxIterations := 5) RETURN *") is R
    with pytest.raises(QueryForbidden, match="option"):
        KUZU.check("CALL page_rank('G', home := '/') RETURN *")
    with pytest.raises(QueryForbidden):
        LADYBUG.check("CALL query_fts_index('P', 'i', 'q') RETURN *")  # not built into LadybugDB


@pytest.mark.parametrize("statement", ["", "   ", "RETURN 1; RETURN 2", "RETURN 'open", "RETURN 1 /* open",
                                       "MATC (n) RETURN n", "x" * 20_000])
def test_bad_requests_are_400(statement: str) -> None:
    with pytest.raises(InvalidQuery):
        policy_for("kuzu", 10_000).check(statement)


NEO4J_REFUSED = [
    "LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l",
    "CALL dbms.components()",
    "CALL apoc.load.json('http://example.com')",
    "RETURN apoc.text.join(['a'], ',')",
    "CREATE DATABASE other",
    "CREATE OR REPLACE DATABASE other",
    "SHOW DATABASES",
    "SHOW SETTINGS",
    "CREATE USER eve SET PASSWORD 'x'",
    "USE other MATCH (n) RETURN n",
    "MATCH (n) CALL { WITH n SET n.x = 1 } IN TRANSACTIONS",
    "RETURN file()",
    "MATCH (n) RETURN n.x AS x, 'file:///etc/passwd' AS f",
    "CYPHER runtime=slotted MATCH (n) RETURN n",
]


@pytest.mark.parametrize("statement", NEO4J_REFUSED)
def test_neo4j_refused_in_every_spelling(statement: str) -> None:
    for spelling in spellings(statement):
        with pytest.raises(QueryForbidden):
            NEO4J.check(spelling)


def test_neo4j_kinds() -> None:
    assert NEO4J.check("MATCH (n) RETURN n.load, n.use") is R
    assert NEO4J.check("CALL db.labels()") is R
    assert NEO4J.check("CALL db.index.fulltext.queryNodes('i', 'q') YIELD node RETURN node") is R
    assert NEO4J.check("SHOW INDEXES") is R
    assert NEO4J.check("MATCH p = shortestPath((a)-[*]-(b)) RETURN p, date.truncate('day', date())") is R
    assert NEO4J.check("MATCH (n) CALL (n) { RETURN n.x AS x } RETURN x") is R
    assert NEO4J.check("MERGE (n:X {id: 1})") is W
    assert NEO4J.check("CREATE INDEX FOR (n:X) ON (n.a)") is W
    assert NEO4J.check("CREATE CONSTRAINT pk IF NOT EXISTS FOR (n:X) REQUIRE n.id IS UNIQUE") is W
    assert NEO4J.explain("MATCH (n) RETURN n") is None
