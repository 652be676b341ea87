"""The runnable examples of the docs: every fenced ```bash / ```sh / ```shell / ```python block of
README.md and docs/*.md, with the marker written above it.

Markers (an HTML comment on the line right above the fence, so readers see why in the source):

    <!-- docs-test: skip <reason> -->   not run; the reason is required (AWS, a cluster, a foreground
                                        server, a benchmark...)
    <!-- docs-test: env -->             the page's settings: only `export NAME=value` lines of the
                                        variables in ENV_DEFAULTS, with exactly those values; the test
                                        sets them to its own node instead of running the block

Blocks are found by markdown-it (the CommonMark parser rich already depends on), so fences inside
list items count too.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

RUNNABLE = {"bash": "bash", "sh": "bash", "shell": "bash", "python": "python"}
MARKER = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<kind>\S+)(?P<reason>.*?)\s*-->\s*$")

# What the docs' env blocks must say: scripts/run-node's development node (port 8001, key
# "test-key", local staging root ./data/staging), read by curl, graph-cli and the Python client.
ENV_DEFAULTS = {
    "GRAPH_CLIENT_BASE_URL": "http://127.0.0.1:8001",
    "GRAPH_CLIENT_API_KEY": "test-key",
    "GRAPH_API_STAGING_LOCAL_ROOT": "$PWD/data/staging",
}


class MarkerError(ValueError):
    """A marker the convention does not allow (unknown kind, a skip without a reason, a bad env block)."""


@dataclass(frozen=True)
class Block:
    path: Path  # the markdown file
    line: int  # 1-based line of the opening fence
    language: str  # "bash" or "python"
    code: str
    marker: str | None  # "skip", "env" or None (run it)
    reason: str  # a skip's reason

    def name(self, root: Path) -> str:
        return f"{self.path.relative_to(root)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The runnable blocks of one markdown file, in order. Raises MarkerError for a bad marker."""
    text = path.read_text()
    lines = text.splitlines()
    found: list[Block] = []
    for token in MarkdownIt("commonmark").parse(text):
        if token.type != "fence" or token.map is None:
            continue
        language = RUNNABLE.get(token.info.split()[0] if token.info.strip() else "")
        if language is None:
            continue
        start = token.map[0]
        marker, reason = _marker(lines, start, path)
        block = Block(path, start + 1, language, token.content, marker, reason)
        if marker == "env":
            check_env_block(block)
        found.append(block)
    return found


def _marker(lines: list[str], fence_index: int, path: Path) -> tuple[str | None, str]:
    above = fence_index - 1
    if above < 0 or not (match := MARKER.match(lines[above])):
        return None, ""
    kind, reason = match["kind"], match["reason"].strip()
    where = f"{path}:{above + 1}"
    if kind == "skip" and not reason:
        raise MarkerError(f"{where}: a skip needs a reason: <!-- docs-test: skip <why> -->")
    if kind == "env" and reason:
        raise MarkerError(f"{where}: an env marker takes no reason")
    if kind not in ("skip", "env"):
        raise MarkerError(f"{where}: unknown marker {kind!r} (skip or env)")
    return kind, reason


def check_env_block(block: Block) -> None:
    """An env block sets only the known variables, to the development node's values."""
    for number, line in enumerate(block.code.splitlines(), start=block.line + 1):
        words = shlex.split(line, comments=True)
        if not words:
            continue
        if words[0] != "export" or len(words) < 2:
            raise MarkerError(f"{block.path}:{number}: an env block holds only `export NAME=value` lines")
        for assignment in words[1:]:
            name, _, value = assignment.partition("=")
            if ENV_DEFAULTS.get(name) != value:
                raise MarkerError(f"{block.path}:{number}: {assignment!r}: an env block sets only "
                                  + ", ".join(f"{k}={v}" for k, v in ENV_DEFAULTS.items()))
