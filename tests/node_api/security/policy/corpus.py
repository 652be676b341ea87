"""Statements the policy tests send to the engines, with the verdict each must get.

Every statement here is safe to EXPLAIN on Kuzu 0.11.3 and LadybugDB 0.22.0 (none binds a file reader:
`EXPLAIN CALL read_parquet('x')` segfaults Kuzu just like running it, measured).
"""

from __future__ import annotations

BOTH = ("kuzu", "ladybug")
KUZU_ONLY = ("kuzu",)
LADYBUG_ONLY = ("ladybug",)

SETUP = {
    "common": [
        "CREATE NODE TABLE P(id INT64 PRIMARY KEY, name STRING, v FLOAT[3])",
        "CREATE REL TABLE K(FROM P TO P, w DOUBLE)",
        "CREATE (:P {id: 1, name: 'alpha beta', v: [1, 2, 3]})-[:K {w: 1.0}]->(:P {id: 2, name: 'b', v: [3, 2, 1]})",
        "CREATE SEQUENCE s",
        "CALL project_graph('G', ['P'], ['K'])",
    ],
    "kuzu": [
        "CALL create_fts_index('P', 'names', ['name'])",
        "CALL create_vector_index('P', 'vecs', 'v')",
    ],
    "ladybug": [],
}

# (statement, kind, engines): the token phase and the plan phase both allow it, with this kind.
ALLOWED: list[tuple[str, str, tuple[str, ...]]] = [
    ("MATCH (n:P) RETURN n.name", "read", BOTH),
    ("match (n:P) where n.id > 1 return n order by n.id limit 3", "read", BOTH),
    ("MATCH (n:P) RETURN n ORDER BY n.id SKIP 1", "read", BOTH),
    ("MATCH (a:P)-[k:K]->(b:P) RETURN a.id, count(*)", "read", BOTH),
    ("MATCH p = (a:P)-[:K*1..3]->(b:P) RETURN nodes(p)", "read", BOTH),
    ("MATCH p = (a:P)-[e:K* WSHORTEST(w)]->(b:P) RETURN cost(e)", "read", BOTH),
    ("MATCH p = (a:P)-[:K* ALL SHORTEST 1..3]->(b:P) RETURN length(p)", "read", BOTH),
    ("MATCH (a:P)-[e:K*1..2 (r, n | WHERE r.w > 0)]->(b:P) RETURN count(*)", "read", BOTH),
    ("MATCH (a:P), (b:P) RETURN a.id, b.id", "read", BOTH),
    ("MATCH (a:P) OPTIONAL MATCH (a)-[:K]->(b) RETURN a, b", "read", BOTH),
    ("MATCH (a:P)-[:K]->(b:P)-[:K]->(c:P), (a)-[:K]->(c) RETURN count(*)", "read", BOTH),
    ("UNWIND [1, 2, 3] AS x RETURN x", "read", BOTH),
    ("RETURN 1 UNION RETURN 2", "read", BOTH),
    ("MATCH (a:P) RETURN a.id AS x UNION ALL MATCH (b:P) RETURN b.id AS x", "read", BOTH),
    ("MATCH (a:P) WHERE EXISTS { MATCH (a)-[:K]->() } RETURN a", "read", BOTH),
    ("MATCH (a:P) RETURN COUNT { MATCH (a)-[:K]->() }", "read", BOTH),
    ("MATCH (n:P) WHERE false RETURN n", "read", BOTH),
    ("MATCH (n:P) WHERE n.id = $id RETURN n", "read", BOTH),
    ("MATCH (n:P) RETURN n LIMIT 1", "read", BOTH),
    ("MATCH (n:P) WITH n, n.id AS i WHERE i > 0 RETURN DISTINCT i", "read", BOTH),
    ("RETURN list_transform([1, 2], x -> x + 1), upper('a'), CAST('1' AS DECIMAL(10, 2))", "read", BOTH),
    ("RETURN `upper` /* a comment */ ('a') // another", "read", BOTH),
    ("RETURN 'LOAD FROM x', {use: 1}, 'COPY' AS copy_count", "read", BOTH),
    ("CALL show_tables() RETURN *", "read", BOTH),
    ("CALL `SHOW_TABLES`() RETURN name", "read", BOTH),
    ("CALL table_info('P') RETURN *", "read", BOTH),
    ("CALL show_connection('K') RETURN *", "read", BOTH),
    ("CALL show_indexes() RETURN *", "read", BOTH),
    ("CALL show_sequences() RETURN *", "read", BOTH),
    ("CALL show_functions() RETURN *", "read", LADYBUG_ONLY),
    ("CALL db_version() RETURN *", "read", BOTH),
    ("CALL catalog_version() RETURN *", "read", BOTH),
    ("CALL show_warnings() RETURN *", "read", BOTH),
    ("CALL clear_warnings()", "read", BOTH),
    ("CALL show_projected_graphs() RETURN *", "read", BOTH),
    ("CALL projected_graph_info('G') RETURN *", "read", BOTH),
    ("CALL show_loaded_extensions() RETURN *", "read", BOTH),
    ("CALL show_official_extensions() RETURN *", "read", BOTH),
    ("MATCH (n:P) CALL table_info('P') RETURN n.id, name", "read", BOTH),
    ("CALL project_graph('G2', ['P'], ['K'])", "read", BOTH),
    ("CALL drop_projected_graph('G')", "read", BOTH),
    ("CALL query_fts_index('P', 'names', 'alpha', conjunctive := true) RETURN node.id, score", "read", KUZU_ONLY),
    ("CALL query_vector_index('P', 'vecs', [1.0, 2.0, 3.0], 2) RETURN node.id, distance", "read", KUZU_ONLY),
    ("CALL page_rank('G', maxIterations := 5) RETURN node.id, rank", "read", KUZU_ONLY),
    ("CALL wcc('G') RETURN *", "read", KUZU_ONLY),
    ("CALL scc('G') RETURN *", "read", KUZU_ONLY),
    ("CALL scc_ko('G') RETURN *", "read", KUZU_ONLY),
    ("CALL louvain('G') RETURN *", "read", KUZU_ONLY),
    ("CALL k_core_decomposition('G') RETURN *", "read", KUZU_ONLY),
    ("RETURN to_json({a: 1}), stem('running', 'porter')", "read", KUZU_ONLY),
    ("CALL show_macros() RETURN *", "read", LADYBUG_ONLY),
    ("CALL show_graphs() RETURN *", "read", LADYBUG_ONLY),
    ("CALL storage_version() RETURN *", "read", LADYBUG_ONLY),
    ("RETURN list_max([1, 2]), random() < 2", "read", LADYBUG_ONLY),
    ("CREATE (:P {id: 10, name: 'c'})", "write", BOTH),
    ("MATCH (a:P) SET a.name = 'x'", "write", BOTH),
    ("MATCH ()-[k:K]->() SET k.w = 2", "write", BOTH),
    ("MATCH (a:P) DETACH DELETE a", "write", BOTH),
    ("MATCH ()-[k:K]->() DELETE k", "write", BOTH),
    ("MERGE (a:P {id: 5}) ON CREATE SET a.name = 'x'", "write", BOTH),
    ("MATCH (a:P {id: 1}), (b:P {id: 2}) MERGE (a)-[k:K]->(b) ON MATCH SET k.w = 3", "write", BOTH),
    ("MATCH (a:P), (b:P) CREATE (a)-[:K {w: 1.0}]->(b)", "write", BOTH),
    ("CREATE NODE TABLE Q(id INT64, PRIMARY KEY(id))", "write", BOTH),
    ("CREATE NODE TABLE IF NOT EXISTS Q2(id SERIAL PRIMARY KEY, t TIMESTAMP DEFAULT current_timestamp())",
     "write", BOTH),
    ("CREATE REL TABLE K2(FROM P TO P)", "write", BOTH),
    ("DROP TABLE K", "write", BOTH),
    ("ALTER TABLE P ADD z INT64 DEFAULT nextval('s')", "write", BOTH),
    ("ALTER TABLE P RENAME TO PP", "write", BOTH),
    ("COMMENT ON TABLE P IS 'people'", "write", BOTH),
    ("CREATE SEQUENCE s2", "write", BOTH),
    ("DROP SEQUENCE s", "write", BOTH),
    ("RETURN nextval('s')", "write", BOTH),  # the plan shows no write: the token kind carries it
]

# Allowed, written, and never EXPLAINed: Kuzu 0.11.3 runs these under EXPLAIN (measured).
ALLOWED_WITHOUT_PLAN: list[str] = [
    "CALL create_fts_index('P', 'names2', ['name'], stemmer := 'porter')",
    "CALL drop_fts_index('P', 'names')",
    "CALL create_vector_index('P', 'vecs2', 'v', metric := 'l2')",
    "CALL drop_vector_index('P', 'vecs')",
]

# (statement, what the plan's refusal names, engines): safe to EXPLAIN, and the plan phase refuses them
# on its own (the token phase refuses them too).
REFUSED_BY_PLAN: list[tuple[str, str, tuple[str, ...]]] = [
    ("CALL threads=4", "STANDALONE_CALL", BOTH),
    ("CALL `threads`=9", "STANDALONE_CALL", BOTH),
    ("CALL checkpoint_threshold=1", "STANDALONE_CALL", BOTH),
    ("CALL auto_checkpoint=false", "STANDALONE_CALL", BOTH),
    ("CALL spill_to_disk=false", "STANDALONE_CALL", BOTH),
    ("CALL home_directory='/'", "STANDALONE_CALL", BOTH),
    ("CALL file_search_path='/etc'", "STANDALONE_CALL", BOTH),
    ("CALL timeout=1", "STANDALONE_CALL", BOTH),
    ("CREATE MACRO m(x) AS x + 1", "CREATE_MACRO", BOTH),
    ("CREATE TYPE T AS STRING", "CREATE_TYPE", BOTH),
    ("CHECKPOINT", "TRANSACTION", BOTH),
    ("BEGIN TRANSACTION", "TRANSACTION", BOTH),
    ("COMMIT", "TRANSACTION", BOTH),
    ("ROLLBACK", "TRANSACTION", BOTH),
    ("INSTALL json", "INSTALL_EXTENSION", BOTH),
    ("UNINSTALL json", "UNINSTALL_EXTENSION", KUZU_ONLY),
    ("LOAD EXTENSION json", "LOAD_EXTENSION", KUZU_ONLY),
    ("ATTACH '{tmp}/other.db' AS other (dbtype kuzu)", "ATTACH_DATABASE", KUZU_ONLY),
    ("DETACH other", "DETACH_DATABASE", BOTH),
    ("USE other", "USE_DATABASE", BOTH),
    ("EXPORT DATABASE '{tmp}/export'", "EXPORT_DATABASE", BOTH),
    ("COPY (MATCH (n:P) RETURN n.id) TO '{tmp}/leak.csv'", "COPY_TO", BOTH),
    ("COPY P FROM (MATCH (n:P) RETURN n.id + 100, n.name, n.v)", "BATCH_INSERT", BOTH),
    ("CALL current_setting('threads') RETURN *", "CURRENT_SETTING", BOTH),
    ("CALL bm_info() RETURN *", "BM_INFO", BOTH),
    ("CALL file_info() RETURN *", "FILE_INFO", BOTH),
    ("CALL fsm_info() RETURN *", "FSM_INFO", BOTH),
    ("CALL storage_info('P') RETURN *", "STORAGE_INFO", BOTH),
    ("CALL stats_info('P') RETURN *", "STATS_INFO", BOTH),
    ("CALL show_attached_databases() RETURN *", "SHOW_ATTACHED_DATABASES", BOTH),
    ("CALL project_graph_cypher('G3', 'MATCH (a:P)-[k:K]->(b:P) RETURN a, k, b')", "PROJECT_GRAPH_CYPHER", BOTH),
    ("CALL _cache_array_column_locally('P', 'v')", "_CACHE_ARRAY_COLUMN_LOCALLY", BOTH),
    ("CALL disk_info() RETURN *", "DISK_INFO", LADYBUG_ONLY),
    ("CALL disk_size_info() RETURN *", "DISK_SIZE_INFO", LADYBUG_ONLY),
    ("CREATE GRAPH g2", "CREATE_GRAPH", LADYBUG_ONLY),
    ("USE GRAPH g2", "USE_GRAPH", LADYBUG_ONLY),
]


def for_engine(entries: list[tuple[str, str, tuple[str, ...]]], engine: str) -> list[tuple[str, str]]:
    return [(statement, verdict) for statement, verdict, engines in entries if engine in engines]
