"""A node started as the README starts one: `scripts/run-node` and the `graph-node` console script
announce the URL they really listen on (whatever option or variable chose the port), stage local
Parquet from ./data/staging by default, and stop cleanly on SIGTERM."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.node import REPO_ROOT
from tests.support.ports import free_port

BANNER = re.compile(r"^graph-node: listening on (http://\S+) \(API docs \S+/docs\); stop it with Ctrl\+C or `kill (\d+)`$")


@contextmanager
def started(command: list[str], env: dict[str, str], log: Path) -> Iterator[tuple[str, list[str]]]:
    """Runs `command` until the node's banner: (its URL, the stderr lines so far); then stops it
    with SIGTERM and checks it shut down in order (uvicorn exits by the signal it handled)."""
    with log.open("w") as out:  # the child keeps its own descriptor
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    try:
        while True:
            line = lines.get(timeout=120)
            assert line is not None, f"the node exited before listening: {seen}"
            seen.append(line)
            if match := BANNER.match(line):
                assert int(match.group(2)) == process.pid  # `exec`: the pid to kill is the node's
                yield match.group(1), seen
                break
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == -signal.SIGTERM
        assert '"event": "Application shutdown complete."' in log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRAPH_API_", "KUZU_"))}
    return {**env, "GRAPH_API_KEY": "run-node-test-key", "KUZU_MEMORY_PER_DB_MB": "512",
            "GRAPH_API_DATABASE_PATH": str(tmp_path / "dbs"), **extra}


def test_run_node_announces_the_port_it_was_given(tmp_path: Path) -> None:
    port = free_port()
    command = [str(REPO_ROOT / "scripts" / "run-node"), "--port", str(port)]
    with started(command, _env(tmp_path), tmp_path / "node.log") as (url, seen):
        assert url == f"http://127.0.0.1:{port}"
        assert httpx.get(f"{url}/status/live", timeout=5).status_code == 200
        root = REPO_ROOT / "data" / "staging"
        assert root.is_dir()  # staging from a local root is on by default in development
        assert f"run-node: local Parquet   put files in {root}/ and stage them as file://{root}/<name>.parquet" in seen
        assert "run-node: API key header  X-Graph-API-Key: run-node-test-key" in seen
        assert not any("8001" in line for line in seen)


def test_graph_node_takes_its_port_from_the_environment(tmp_path: Path) -> None:
    port = free_port()
    command = [str(REPO_ROOT / ".venv" / "bin" / "graph-node")]
    with started(command, _env(tmp_path, GRAPH_API_PORT=str(port)), tmp_path / "node.log") as (url, _):
        assert url == f"http://127.0.0.1:{port}"
        headers = {"X-Graph-API-Key": "run-node-test-key"}
        assert httpx.get(f"{url}/databases", headers=headers, timeout=5).json()["total"] == 0


def test_a_second_node_refuses_a_busy_port_or_base_path_and_leaves_the_first_alone(tmp_path: Path) -> None:
    """One node per port and per base path: the second says why in one plain line and exits 3 before it
    touches anything (a second node on the same directory used to empty the first's `.creating/`)."""
    command = [str(REPO_ROOT / ".venv" / "bin" / "graph-node")]
    port = free_port()
    with started(command, _env(tmp_path, GRAPH_API_PORT=str(port)), tmp_path / "node.log") as (url, _):
        marker = tmp_path / "dbs" / ".creating" / "in-flight"
        marker.mkdir(parents=True)
        other_base = _env(tmp_path / "other", GRAPH_API_PORT=str(port))
        busy_port = subprocess.run(command, cwd=REPO_ROOT, env=other_base, capture_output=True, text=True, timeout=60)
        assert busy_port.returncode == 3
        assert f"graph-node: cannot listen on 127.0.0.1:{port}" in busy_port.stderr
        same_base = _env(tmp_path, GRAPH_API_PORT=str(free_port()))
        busy_base = subprocess.run(command, cwd=REPO_ROOT, env=same_base, capture_output=True, text=True, timeout=60)
        assert busy_base.returncode == 3
        assert f"is serving {tmp_path / 'dbs'}: stop it, or give this node another base path" in busy_base.stderr
        assert "Traceback" not in busy_base.stderr + busy_port.stderr
        assert marker.is_dir()  # the running node's work was not touched
        assert httpx.get(f"{url}/status/live", timeout=5).status_code == 200
