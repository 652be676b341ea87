"""The phase-1 verdict cache (security/policy.py) holds at most ~16 MB of statements per profile,
whatever characters a tenant's statements are made of.

Found by attacking: the bound counted characters, and CPython stores a text holding one emoji at 4
bytes a character, the EXPLAIN text was kept beside it too: 4096 such statements kept 129 MB."""

from __future__ import annotations

import tracemalloc

from node_api.backends.base import StatementKind
from node_api.security.policy import policy_for


def test_statements_of_wide_characters_keep_the_cache_within_its_bound() -> None:
    policy = policy_for("kuzu", 10_000)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(4096):
            head = f"RETURN '{i}"
            statement = head + "\U0001F600" * (4096 - len(head) - 1) + "'"
            assert policy.check(statement) is StatementKind.READ
            assert policy.explain(statement) == "EXPLAIN " + statement
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 20 << 20, f"{kept >> 20} MB kept"


def test_a_kept_verdict_answers_as_the_first_check_did() -> None:
    policy = policy_for("kuzu", 10_000)
    for _ in range(2):  # the second round answers from the cache
        assert policy.check("MATCH (n) RETURN n") is StatementKind.READ
        assert policy.explain("MATCH (n) RETURN n") == "EXPLAIN MATCH (n) RETURN n"
        assert policy.check("CREATE (:P {id: 1})") is StatementKind.WRITE
        assert policy.explain("CALL create_fts_index('P', 'i', ['name'])") is None
