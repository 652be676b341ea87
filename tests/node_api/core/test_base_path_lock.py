"""One node per base path (node_api/core/base_path_lock.py): a second node's start-up is refused before
it touches the directory, and the lock goes with the node that held it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from node_api.app import create_app
from node_api.core.base_path_lock import BasePathInUse, BasePathLockError, base_path_lock
from tests.support.node import API_KEY, HEADERS, in_process_client, node_settings


async def test_a_second_app_on_a_base_path_in_use_does_not_start(tmp_path: Path) -> None:
    settings = node_settings(tmp_path / "dbs", API_KEY)
    async with in_process_client(create_app(settings), HEADERS) as first:
        leftover = tmp_path / "dbs" / ".creating" / "in-flight"
        leftover.mkdir(parents=True)
        with pytest.raises(BasePathInUse, match="is serving"):
            async with in_process_client(create_app(settings), HEADERS):
                pass
        assert leftover.is_dir()
        assert (await first.get("/databases")).status_code == 200
    async with in_process_client(create_app(settings), HEADERS) as again:  # released with its holder
        assert (await again.get("/databases")).status_code == 200


def test_the_lock_dies_with_its_process(tmp_path: Path) -> None:
    """flock(2): a killed holder leaves no stale lock behind."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from node_api.core.base_path_lock import base_path_lock\n"
         f"with base_path_lock(Path({str(tmp_path)!r})):\n    print('held', flush=True); time.sleep(600)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(BasePathInUse, match=f"pid {holder.pid}"), base_path_lock(tmp_path):
            pass
    finally:
        holder.kill()
        holder.wait(10)
    with base_path_lock(tmp_path):
        pass


@pytest.mark.parametrize("occupant", ["directory", "symlink"])
def test_a_lock_file_that_is_not_a_regular_file_is_refused_in_one_line(tmp_path: Path, occupant: str) -> None:
    """A directory, or a symbolic link (never followed: the file it names is not truncated)."""
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep me")
    base = tmp_path / "dbs"
    base.mkdir()
    if occupant == "directory":
        (base / ".node.lock").mkdir()
    else:
        (base / ".node.lock").symlink_to(target)
    with pytest.raises(BasePathLockError, match="cannot open the node's lock file"), base_path_lock(base):
        pass
    assert target.read_text() == "keep me"
