"""Each engine's own answers for the policy tests, read once per session in a child process per
engine (tests/node_api/security/policy/engine_probe.py): Kuzu and LadybugDB cannot share a process."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from node_api.security.policy import PROFILES, StatementPolicy
from tests.node_api.security.policy.corpus import ALLOWED, REFUSED_BY_PLAN, SETUP, for_engine

PROBE = Path(__file__).with_name("engine_probe.py")
ENGINES = ("kuzu", "ladybug")


def run_probe(engine: str, db_dir: Path, setup: list[str], run: list[str]) -> dict[str, Any]:
    """The probe's answer; fails the test (with the engine's stderr) if the engine process dies."""
    done = subprocess.run([sys.executable, str(PROBE), engine, str(db_dir)], input=json.dumps(
        {"setup": setup, "run": run}), capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, f"{engine} probe exited {done.returncode}: {done.stderr[-2000:]}"
    return json.loads(done.stdout)


@dataclass
class EngineAnswers:
    engine: str
    policy: StatementPolicy
    version: str
    catalog: list[tuple[str, str]]
    plans: dict[str, dict[str, Any]]  # statement -> {"rows": [[plan text]]} | {"error": ...}
    tmp: Path

    def plan(self, statement: str) -> str:
        answer = self.plans[statement]
        assert "rows" in answer, f"{self.engine} could not EXPLAIN {statement!r}: {answer['error']}"
        return answer["rows"][0][0]


@pytest.fixture(scope="session", params=ENGINES)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> EngineAnswers:
    name = request.param
    tmp = tmp_path_factory.mktemp(f"policy-{name}")
    policy = PROFILES[name]
    statements = [s.replace("{tmp}", str(tmp)) for s, _ in for_engine(ALLOWED, name) + for_engine(REFUSED_BY_PLAN, name)]
    # Each statement's plan, from the EXPLAIN the policy itself asks for (or plain EXPLAIN for the
    # refused ones, which the token phase never lets reach an engine).
    explains = [policy.explain(s) if _passes_tokens(policy, s) else "EXPLAIN " + s for s in statements]
    answer = run_probe(name, tmp / "db", SETUP["common"] + SETUP[name], [e or "" for e in explains])
    plans = dict(zip(statements, answer["results"], strict=True))
    return EngineAnswers(name, policy, answer["version"], [tuple(x) for x in answer["catalog"]], plans, tmp)


def _passes_tokens(policy: StatementPolicy, statement: str) -> bool:
    try:
        policy.check(statement)
    except Exception:  # noqa: BLE001 - any refusal
        return False
    return True
