"""Every runnable example of the docs runs as written, against a real node.

Each fenced ```bash / ```sh / ```shell / ```python block of README.md and docs/*.md (tests/docs/blocks.py)
is one test, named `file:line`. The blocks run in order, page after page, as a reader pastes them, against
one node: a `graph-node` process on 127.0.0.1 with its own base path, port, staging root and memory
limits. The page's env block (`<!-- docs-test: env -->`) names the variables the examples
use; the test sets them to its node (URL, API key, staging root) and runs every other block:

- bash with `set -euo pipefail`, and `curl` failing on an HTTP error (`--fail-with-body`), so an
  answer of 4xx/5xx fails the block as a wrong command would;
- Python as a script, both from the repository root, within BLOCK_TIMEOUT_S.

A block marked `<!-- docs-test: skip <reason> -->` is reported as skipped with its reason; any other
block that fails, fails its test. One exception lives here, not in the markdown: the README's opening
block (it must stay the README's first lines: the foreground node and the whole suite).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.docs.blocks import ENV_DEFAULTS, Block, MarkerError, blocks, check_env_block
from tests.support.live_node import LiveNode
from tests.support.node import API_KEY, REPO_ROOT

BLOCK_TIMEOUT_S = 120
README = REPO_ROOT / "README.md"
BASH_PREAMBLE = 'set -euo pipefail\ncurl() { command curl --fail-with-body "$@"; }\n'


def _pages() -> list[Path]:
    return [README, *sorted((REPO_ROOT / "docs").glob("*.md"))]


def _cases() -> list[Any]:
    cases = []
    for page in _pages():
        for index, block in enumerate(blocks(page)):
            reason = block.reason if block.marker == "skip" else None
            if page == README and index == 0:
                reason = "the README's opening commands (the node in the foreground, the whole suite)"
            marks = [pytest.mark.skip(reason=f"{block.name(REPO_ROOT)}: {reason}")] if reason else []
            cases.append(pytest.param(block, id=block.name(REPO_ROOT), marks=marks))
    return cases


@pytest.fixture(scope="module")
def docs_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveNode, Path]]:
    """One live node for every page, as a reader has one development node: (node, its staging root).
    Pages therefore use graph ids of their own (a clash is a 409, and fails the block)."""
    root = tmp_path_factory.mktemp("docs-node")
    staging = root / "staging"
    staging.mkdir()
    node = LiveNode(root / "dbs", env={
        "GRAPH_API_STAGING_LOCAL_ROOT": str(staging),
        "KUZU_MAX_MEMORY_MB": "4096",
        "KUZU_MAX_DATABASES_PER_NODE": "20",  # every page's graphs at once (run-node's default is 10)
    }).start()
    try:
        yield node, staging
    finally:
        node.stop()


@pytest.mark.parametrize("block", _cases())
def test_block_runs(block: Block, docs_node: tuple[LiveNode, Path], tmp_path: Path) -> None:
    node, staging = docs_node
    if block.marker == "env":
        return  # checked while parsing (blocks.check_env_block); its variables are set below
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("GRAPH_CLIENT_", "GRAPH_ROUTER", "GRAPH_API_"))}
    env.update(GRAPH_CLIENT_BASE_URL=node.url, GRAPH_CLIENT_API_KEY=API_KEY,
               GRAPH_API_STAGING_LOCAL_ROOT=str(staging))
    assert set(ENV_DEFAULTS) <= set(env)
    if block.language == "bash":
        command = ["bash", "-c", BASH_PREAMBLE + block.code]
    else:
        script = tmp_path / f"{block.path.stem}_{block.line}.py"
        script.write_text(block.code)
        command = [sys.executable, str(script)]
    try:
        done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                              timeout=BLOCK_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{block.name(REPO_ROOT)} ran past {BLOCK_TIMEOUT_S} s:\n{exc.stdout}\n{exc.stderr}")
    assert done.returncode == 0, (
        f"{block.name(REPO_ROOT)} exited {done.returncode}\n--- block\n{block.code}"
        f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"
    )


def test_every_page_with_examples_has_its_settings() -> None:
    """A page whose runnable examples use the node's URL, key or staging root defines them in an env
    block first, so a reader who starts on that page can paste them; outside comments, run examples
    name the node only through those variables (a literal port or key would reach a developer's own
    node on 8001 instead of the test's)."""
    for page in _pages():
        seen_env = False
        for block in blocks(page):
            seen_env = seen_env or block.marker == "env"
            if block.marker is not None:
                continue
            used = [name for name in ENV_DEFAULTS if name in block.code]
            assert not used or seen_env, f"{block.name(REPO_ROOT)} uses {used} before the page's env block"
            code = "\n".join(re.sub(r"#.*", "", line) for line in block.code.splitlines())
            for literal in (":8001", "test-key"):
                assert literal not in code, f"{block.name(REPO_ROOT)} names {literal!r}: use the env block's variables"


def test_markers_are_checked(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- docs-test: skip -->\n```bash\ntrue\n```\n")
    with pytest.raises(MarkerError, match="needs a reason"):
        blocks(page)
    page.write_text("<!-- docs-test: maybe -->\n```bash\ntrue\n```\n")
    with pytest.raises(MarkerError, match="unknown marker"):
        blocks(page)
    page.write_text("<!-- docs-test: env -->\n```bash\nexport GRAPH_CLIENT_API_KEY=test-key\nrm -rf data\n```\n")
    with pytest.raises(MarkerError, match="only `export NAME=value`"):
        blocks(page)
    page.write_text("<!-- docs-test: env -->\n```bash\nexport GRAPH_CLIENT_API_KEY=other\n```\n")
    with pytest.raises(MarkerError, match="sets only"):
        blocks(page)
    page.write_text("- item\n\n  <!-- docs-test: skip needs AWS -->\n  ```sh\n  aws s3 ls\n  ```\n\n```python\nprint(1)\n```\n"
                    "```\nnot runnable\n```\n")
    found = blocks(page)
    assert [(b.line, b.language, b.marker, b.reason) for b in found] == [
        (4, "bash", "skip", "needs AWS"), (8, "python", None, "")]
    check_env_block(Block(page, 1, "bash", "export GRAPH_CLIENT_BASE_URL=http://127.0.0.1:8001 "
                                           "GRAPH_CLIENT_API_KEY=test-key\n", "env", ""))


def test_readme_opens_with_its_two_commands() -> None:
    """The block the docs test leaves out by position is the README's opening: the node and the suite."""
    first = blocks(README)[0]
    assert first.line == 1
    assert [line.split("#")[0].strip() for line in first.code.splitlines()] == ["scripts/run-node", "scripts/test"]
