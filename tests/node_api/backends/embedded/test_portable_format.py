"""The portable format's pure parts: DDL from a catalog, multiplicities from the engines' own exports,
and a restore that runs only scripts the node could have written."""

from __future__ import annotations

from pathlib import Path

import pytest

from node_api.backends.embedded import portable
from node_api.backends.errors import QueryForbidden
from node_api.security.policy import policy_for


def test_multiplicities_are_read_from_either_engines_export() -> None:
    kuzu = ("CREATE NODE TABLE `P` (`id` INT64, PRIMARY KEY(`id`));\n"
            "CREATE REL TABLE `R` (FROM `P` TO `P`, `w` DOUBLE,MANY_ONE);\n"
            "CREATE REL TABLE `G` (FROM `P` TO `P`, FROM `P` TO `Q`, MANY_MANY);\n")
    ladybug = ("CREATE REL TABLE `R` (FROM `P` TO `P`, `w` DOUBLE DEFAULT 1.5,ONE_ONE) "
               "WITH (storage = '/x', format = 'icebug-disk');\n")
    assert portable.multiplicities(kuzu) == {"R": "MANY_ONE", "G": "MANY_MANY"}
    assert portable.multiplicities(ladybug) == {"R": "ONE_ONE"}


def test_ddl_keeps_defaults_pairs_sequences_and_comments() -> None:
    catalog = {
        "node_tables": [{"name": "P", "comment": "it's", "properties": [
            {"name": "id", "type": "SERIAL", "default expression": "", "primary key": True},
            {"name": "s", "type": "STRING", "default expression": "'x'", "primary key": False},
            {"name": "n", "type": "INT64", "default expression": "NULL", "primary key": False}]}],
        "rel_tables": [{"name": "R", "comment": "", "multiplicity": "ONE_MANY",
                        "pairs": [{"from": "P", "to": "P"}, {"from": "P", "to": "Q"}],
                        "properties": [{"name": "d", "type": "DATE", "default expression": "date('2020-01-01')"}]}],
        "sequences": [{"name": "P_id_serial", "start": 0, "increment": 1, "min": 0, "max": 9, "cycle": False,
                       "current": 4},
                      {"name": "fresh", "start": 10, "increment": 5, "min": 1, "max": 99, "cycle": True,
                       "current": None}],
    }
    assert portable.schema_ddl(catalog) == [
        "CREATE NODE TABLE `P` (`id` SERIAL, `s` STRING DEFAULT 'x', `n` INT64, PRIMARY KEY(`id`))",
        "CREATE REL TABLE `R` (FROM `P` TO `P`, FROM `P` TO `Q`, `d` DATE DEFAULT date('2020-01-01'), ONE_MANY)",
        "DROP SEQUENCE IF EXISTS `P_id_serial`",
        "CREATE SEQUENCE IF NOT EXISTS `P_id_serial` START 4 INCREMENT 1 MINVALUE 0 MAXVALUE 9 NO CYCLE",
        "RETURN nextval('P_id_serial')",
        "DROP SEQUENCE IF EXISTS `fresh`",
        "CREATE SEQUENCE IF NOT EXISTS `fresh` START 10 INCREMENT 5 MINVALUE 1 MAXVALUE 99 CYCLE",
        "COMMENT ON TABLE `P` IS 'it\\'s'",
    ]


def test_lossy_columns_travel_as_text_and_ambiguous_ones_are_refused() -> None:
    assert portable.column_expression("n", "d", "DECIMAL(18, 3)", "T") == "CAST(n.`d` AS STRING)"
    assert portable.column_expression("n", "l", "INT128[]", "T") == "CAST(n.`l` AS STRING)"
    assert portable.column_expression("n", "s", "STRUCT(x INT64, y STRING)", "T") == "n.`s`"
    with pytest.raises(portable.NotPortable, match="T.m"):
        portable.column_expression("n", "m", "MAP(STRING, DECIMAL(4, 2))", "T")
    with pytest.raises(portable.NotPortable, match="backtick"):
        portable.quote("a`b")


def _directory(tmp_path: Path, schema: str, copy: str) -> Path:
    (tmp_path / portable.SCHEMA_FILE).write_text(schema)
    (tmp_path / portable.COPY_FILE).write_text(copy)
    return tmp_path


def test_import_runs_only_scripts_the_node_writes(tmp_path: Path) -> None:
    check = policy_for("ladybug", 10_000).check
    good = _directory(tmp_path, "CREATE NODE TABLE `P` (`id` INT64, PRIMARY KEY(`id`));\n",
                      'COPY `P` (`id`) FROM "nodes-1.parquet";\nCOPY `R` FROM "rels-1-1.parquet" (from=\'P\', to=\'P\');\n')
    statements = portable.import_statements(good, check)
    assert statements[1] == f"COPY `P` (`id`) FROM '{tmp_path}/nodes-1.parquet'"
    assert statements[2] == f"COPY `R` FROM '{tmp_path}/rels-1-1.parquet' (from='P', to='P')"
    for copy in ('COPY `P` FROM "/etc/passwd";\n', 'COPY `P` FROM "../nodes-1.parquet";\n',
                 'LOAD FROM "nodes-1.parquet" RETURN *;\n', 'COPY `P` FROM "nodes-1.parquet" (header=true);\n'):
        _directory(tmp_path, "RETURN 1;\n", copy)
        with pytest.raises(portable.NotPortable):
            portable.import_statements(tmp_path, check)
    _directory(tmp_path, "LOAD FROM '/etc/passwd' RETURN *;\n", "")
    with pytest.raises(QueryForbidden):
        portable.import_statements(tmp_path, check)
