"""File-system and cross-tenant reads through Cypher (graph) and SQL (staging tables) are refused."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.node_api.security.conftest import SECRET_B


def cypher_attacks(base: Path) -> list[str]:
    other = base / "tenant_b" / "graph.kuzu"
    return [
        "LOAD FROM '/etc/passwd' RETURN *",
        "load from '/etc/passwd' (header=false) return *",
        f"LOAD FROM '{other}' RETURN *",
        "LOAD FROM $p RETURN *",
        "/* c */ LoAd /* c */ FROM '/etc/hostname' RETURN *",
        "COPY Person FROM '/etc/passwd'",
        "COPY (MATCH (p:Person) RETURN p.*) TO '/tmp/leak.csv'",
        f"ATTACH '{other}' AS b (dbtype kuzu)",
        f"ATTACH '{other}' AS b (dbtype kuzu); USE b; MATCH (p:Person) RETURN p.name",
        "USE tenant_b",
        "INSTALL httpfs",
        "LOAD EXTENSION '/tmp/evil.so'",
        "LOAD httpfs",
        "EXPORT DATABASE '/tmp/leak'",
        f"IMPORT DATABASE '{base / 'tenant_b'}'",
        "CALL enable_zone_map=true",
        "CALL threads=64",
        "RETURN current_setting('home_directory')",
        "BEGIN TRANSACTION",
        "RETURN 1; LOAD FROM '/etc/passwd' RETURN *",
        "MATCH (p:Person) RETURN p.name; COPY Person FROM '/etc/passwd'",
        "UNWIND [1] AS x LOAD FROM '/etc/passwd' RETURN *",
    ]


def test_cypher_cannot_read_files_or_other_tenants(http: httpx.Client, base_path: Path) -> None:
    for attack in cypher_attacks(base_path):
        response = http.post("/databases/tenant_a/query", json={"cypher": attack, "parameters": {"p": "/etc/passwd"}})
        assert response.status_code in (400, 403), (attack, response.status_code, response.text[:300])
        assert "root:" not in response.text and SECRET_B not in response.text
    assert not Path("/tmp/leak.csv").exists() and not Path("/tmp/leak").exists()


def test_tenants_see_only_their_own_graph(http: httpx.Client) -> None:
    probes = ["MATCH (n) RETURN n", "MATCH (p:Person) WHERE p.name = $s RETURN p", "CALL show_tables() RETURN *",
              "MATCH (p:Person) RETURN count(p)"]
    for cypher in probes:
        response = http.post("/databases/tenant_a/query", json={"cypher": cypher, "parameters": {"s": SECRET_B}}
                             if "$s" in cypher else {"cypher": cypher})
        assert response.status_code == 200, response.text
        assert SECRET_B not in response.text
    own = http.post("/databases/tenant_b/query", json={"cypher": "MATCH (p:Person) RETURN p.name"})
    assert own.json()["rows"] == [[SECRET_B]]


def test_staging_sql_cannot_read_files_or_other_tenants(http: httpx.Client, base_path: Path) -> None:
    other = base_path / "tenant_b" / "staging" / "staging.duckdb"
    attacks = [
        "SELECT * FROM read_csv('/etc/passwd')", "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM '/etc/passwd'", "SELECT * FROM glob('/**')", "SELECT * FROM read_parquet('/etc/*')",
        f"ATTACH '{other}' AS b", f"SELECT * FROM read_blob('{other}')",
        "COPY (SELECT 1) TO '/tmp/leak.csv'", "EXPORT DATABASE '/tmp/leak'", "INSTALL httpfs", "LOAD httpfs",
        "SET enable_external_access = true", "RESET enable_external_access", "PRAGMA enable_profiling",
        "CREATE SECRET s (TYPE s3)", "SELECT 1; SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_csv('http://169.254.169.254/latest/meta-data/')",
        "CREATE TABLE x AS SELECT 1", "DROP TABLE Person",
    ]
    for sql in attacks:
        response = http.post("/databases/tenant_a/tables/query", json={"sql": sql})
        assert response.status_code in (400, 403, 404), (sql, response.status_code, response.text[:300])
        assert "root:" not in response.text and SECRET_B not in response.text
    assert not Path("/tmp/leak.csv").exists()
