"""The plan phase on real engines: EXPLAIN runs on Kuzu 0.11.3 and LadybugDB 0.22.0 (each in its own
process), and judge_plan decides from the text the engine printed."""

from __future__ import annotations

import pytest

from node_api.backends.base import StatementKind
from node_api.backends.errors import QueryForbidden
from node_api.security.policy import KUZU, LADYBUG, plan_operators
from tests.node_api.security.policy.conftest import EngineAnswers, run_probe
from tests.node_api.security.policy.corpus import (
    ALLOWED,
    ALLOWED_WITHOUT_PLAN,
    REFUSED_BY_PLAN,
    SETUP,
    for_engine,
)

# PhysicalOperatorType of Kuzu 0.11 (src/include/processor/operator/physical_operator.h, names from
# PhysicalOperatorUtils::operatorTypeToString): every one is reviewed, allowed or refused.
KUZU_0_11_OPERATORS = """
    ALTER AGGREGATE AGGREGATE_FINALIZE AGGREGATE_SCAN ATTACH_DATABASE BATCH_INSERT COPY_TO CREATE_MACRO
    CREATE_SEQUENCE CREATE_TABLE CREATE_TYPE CROSS_PRODUCT DETACH_DATABASE DELETE DROP DUMMY_SINK
    DUMMY_SIMPLE_SINK EMPTY_RESULT EXPORT_DATABASE EXTENSION_CLAUSE FILTER FLATTEN HASH_JOIN_BUILD
    HASH_JOIN_PROBE IMPORT_DATABASE INDEX_LOOKUP INSERT INTERSECT_BUILD INTERSECT INSTALL_EXTENSION LIMIT
    LOAD_EXTENSION MERGE MULTIPLICITY_REDUCER PARTITIONER PATH_PROPERTY_PROBE PRIMARY_KEY_SCAN_NODE_TABLE
    PROJECTION PROFILE RECURSIVE_EXTEND RESULT_COLLECTOR SCAN_NODE_TABLE SCAN_REL_TABLE SEMI_MASKER
    SET_PROPERTY SKIP STANDALONE_CALL TABLE_FUNCTION_CALL TOP_K TOP_K_SCAN TRANSACTION ORDER_BY
    ORDER_BY_MERGE ORDER_BY_SCAN UNION_ALL_SCAN UNWIND USE_DATABASE UNINSTALL_EXTENSION
""".split()


@pytest.mark.parametrize("profile", [KUZU, LADYBUG], ids=["kuzu", "ladybug"])
def test_every_kuzu_operator_is_reviewed(profile) -> None:
    unreviewed = [op for op in KUZU_0_11_OPERATORS if op not in profile.operators and op not in
                  profile.refused_operators]
    assert not unreviewed


def test_allowed_statements_get_their_kind_from_the_plan(engine: EngineAnswers) -> None:
    for statement, kind in for_engine(ALLOWED, engine.engine):
        token_kind = engine.policy.check(statement)
        assert token_kind == StatementKind(kind), statement
        plan = engine.plan(statement)
        assert engine.policy.judge_plan(plan, token_kind) == StatementKind(kind), (statement, plan)
        if statement != "RETURN nextval('s')":  # the one write a plan cannot show
            assert engine.policy.judge_plan(plan) == StatementKind(kind), statement


def test_the_plan_phase_refuses_on_its_own(engine: EngineAnswers) -> None:
    for template, culprit in for_engine(REFUSED_BY_PLAN, engine.engine):
        statement = template.replace("{tmp}", str(engine.tmp))
        with pytest.raises(QueryForbidden) as refused:
            engine.policy.check(statement)
        plan = engine.plan(statement)
        with pytest.raises(QueryForbidden) as judged:
            engine.policy.judge_plan(plan)
        assert culprit in judged.value.message, (statement, judged.value.message)
        assert refused.value.code == judged.value.code == "forbidden_statement"
    # EXPLAIN of COPY TO writes nothing, but EXPLAIN EXPORT DATABASE creates its (empty) target
    # directory (measured on both engines): one reason EXPORT is refused by tokens, before any EXPLAIN.
    assert not (engine.tmp / "leak.csv").exists()
    assert not any((engine.tmp / "export").iterdir())


def test_every_operator_the_engine_printed_is_reviewed(engine: EngineAnswers) -> None:
    seen: set[str] = set()
    for answer in engine.plans.values():
        if "rows" in answer:
            seen.update(plan_operators(answer["rows"][0][0]))
    unknown = seen - set(engine.policy.operators) - set(engine.policy.refused_operators)
    assert not unknown, f"{engine.engine} {engine.version} prints operators nobody reviewed: {unknown}"


def test_an_unreviewed_operator_is_refused() -> None:
    plan = KUZU_PLAN.replace("PROJECTION[1]", "TELEPORT[1]    ")
    with pytest.raises(QueryForbidden, match="TELEPORT.*not reviewed"):
        KUZU.judge_plan(plan)
    assert KUZU.judge_plan(KUZU_PLAN) is StatementKind.READ


def test_text_a_tenant_puts_in_the_plan_only_adds_refusals() -> None:
    injected = KUZU_PLAN.replace("│     Expressions: n.name     │",
                                 "│     Expressions: n.name     │\n┌─────────┐\n│ INSERT[9] │")
    assert KUZU.judge_plan(injected) is StatementKind.WRITE  # more conservative, never less
    with pytest.raises(QueryForbidden, match="could not be read"):
        KUZU.judge_plan("not a plan")


def test_judge_runs_explain_only_when_it_is_safe() -> None:
    sent: list[str] = []

    def run(statement: str) -> str:
        sent.append(statement)
        return KUZU_PLAN.replace("PROJECTION[1]", "SET_PROPERTY[1]")

    write = StatementKind.WRITE
    assert KUZU.judge("MATCH (n:P) SET n.name = 'x'", StatementKind.READ, run) is write
    assert KUZU.judge(ALLOWED_WITHOUT_PLAN[0], write, run) is write
    assert sent == ["EXPLAIN MATCH (n:P) SET n.name = 'x'"]


def test_explain_is_never_sent_for_statements_explain_would_run() -> None:
    for statement in ALLOWED_WITHOUT_PLAN:
        assert KUZU.check(statement) is StatementKind.WRITE
        assert KUZU.explain(statement) is None
    assert KUZU.explain("MATCH (n) RETURN n") == "EXPLAIN MATCH (n) RETURN n"


def test_kuzu_runs_index_functions_under_explain(tmp_path) -> None:
    """The engine fact behind TableFunction.explain_runs_it (docs/engine-facts.md)."""
    answer = run_probe("kuzu", tmp_path / "db", SETUP["common"], [
        "EXPLAIN CALL create_fts_index('P', 'made_by_explain', ['name'])", "CALL show_indexes() RETURN index_name"])
    assert ["made_by_explain"] in answer["results"][1]["rows"]


KUZU_PLAN = """┌─────────────────────────────┐
│┌───────────────────────────┐│
││       Physical Plan       ││
│└───────────────────────────┘│
└─────────────────────────────┘
┌─────────────────────────────┐
│     RESULT_COLLECTOR[2]     │
│   -----------------------   │
│     Expressions: n.name     │
└──────────────┬──────────────┘
┌──────────────┴──────────────┐
│        PROJECTION[1]        │
│   -----------------------   │
│     Expressions: n.name     │
└──────────────┬──────────────┘
┌──────────────┴──────────────┐
│     SCAN_NODE_TABLE[0]      │
│          Tables: P          │
└─────────────────────────────┘
"""
