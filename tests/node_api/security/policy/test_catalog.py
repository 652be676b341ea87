"""Every function in an engine's own catalog (`CALL show_functions()`) is reviewed by its profile:
allowed with a reason or refused with one. A function a new engine version adds fails here until
someone reviews it in node_api/security/policy.py."""

from __future__ import annotations

import pytest

from node_api.security.policy import KUZU, LADYBUG, NEO4J, PROFILES, StatementPolicy
from tests.node_api.security.policy.conftest import EngineAnswers
from tests.support.node import REPO_ROOT

PINNED = {"kuzu": "0.11.3", "ladybug": "0.22.0"}


def test_the_pinned_engine_is_the_reviewed_one(engine: EngineAnswers) -> None:
    assert engine.version == PINNED[engine.engine], "review the policy for this version, then update PINNED"


def test_every_catalog_function_is_reviewed(engine: EngineAnswers) -> None:
    policy = engine.policy
    reviewed = set(policy.functions) | set(policy.table_functions) | set(policy.refused_functions)
    missing = sorted({name.upper() for name, _ in engine.catalog} - reviewed)
    assert not missing, f"{engine.engine} functions neither allowed nor refused: {missing}"


def test_table_functions_are_only_allowed_as_table_functions(engine: EngineAnswers) -> None:
    kinds: dict[str, set[str]] = {}
    for name, kind in engine.catalog:
        kinds.setdefault(name.upper(), set()).add(kind)
    for name in engine.policy.functions:
        if name in kinds:
            assert not kinds[name] & {"TABLE FUNCTION", "STANDALONE TABLE FUNCTION", "COPY FUNCTION"}, name
    for name in engine.policy.table_functions:
        if name in kinds:
            assert kinds[name] & {"TABLE FUNCTION", "STANDALONE TABLE FUNCTION"}, name


@pytest.mark.parametrize("policy", PROFILES.values(), ids=PROFILES.keys())
def test_every_entry_has_a_reason_and_one_verdict(policy: StatementPolicy) -> None:
    allowed = set(policy.functions) | set(policy.table_functions)
    assert not allowed & set(policy.refused_functions)
    assert not set(policy.operators) & set(policy.refused_operators)
    assert not policy.syntax_words & (set(policy.refused_functions) | set(policy.table_functions))
    assert not set(policy.statement_starts) & set(policy.refused_starts)
    reasons = [*policy.functions.values(), *policy.refused_functions.values(), *policy.statement_starts.values(),
               *policy.refused_starts.values(), *policy.refused_keywords.values(),
               *policy.refused_operators.values(), *(f.reason for f in policy.table_functions.values()),
               *(o.reason for o in policy.operators.values())]
    assert all(len(reason) > 10 for reason in reasons)


def test_profiles_differ_where_the_engines_do() -> None:
    assert "QUERY_FTS_INDEX" in KUZU.table_functions and "QUERY_FTS_INDEX" not in LADYBUG.table_functions
    assert "SETSEED" in LADYBUG.refused_functions and "QUERY_PRIMARY_KEY_LOOKUP" in LADYBUG.operators
    assert NEO4J.explain("MATCH (n) RETURN n") is None


def test_the_docs_name_every_table_function_and_refusal() -> None:

    text = (REPO_ROOT / "docs" / "node-api.md").read_text()
    for policy in (KUZU, LADYBUG):
        names = [*policy.table_functions, *policy.refused_functions, *policy.refused_operators]
        missing = [name for name in names if name not in text]
        assert not missing, f"docs/node-api.md does not name {missing}"
