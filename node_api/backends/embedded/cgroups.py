"""cgroup v2 memory limits per worker, where the node may create cgroups.

On EC2 the node runs as a systemd service with `Delegate=yes` (cdk/node/graph-node.service): systemd
hands it its own cgroup subtree. The kernel's "no internal processes" rule says a cgroup that
distributes a controller to children holds no processes itself, so the node first moves itself into
a leaf `node/`, enables the memory controller for its subtree, and puts each worker in a leaf of its
own with `memory.max` = the worker's budget, `memory.swap.max` = 0 and `memory.oom.group` = 1. A
worker past its budget is then stopped by the kernel at once, and `memory.events` (`oom_kill`) tells
the node why it died.

Anywhere else (no cgroup v2, the memory controller not delegated, not writable: a container with
cgroup v1 like the test machines here) `CgroupLimits.detect()` returns None and the sampling
supervisor (supervisor.py) is the only enforcement; it also runs beside cgroups, for the node-wide
limit.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from node_api.core.logs import get_logger

log = get_logger(__name__)
_CGROUP2_ROOT = Path("/sys/fs/cgroup")


def _own_cgroup(proc_self_cgroup: str) -> str | None:
    """The process's cgroup v2 path from /proc/self/cgroup (the `0::/path` line)."""
    for line in proc_self_cgroup.splitlines():
        if line.startswith("0::"):
            return line[3:].strip() or "/"
    return None


class CgroupLimits:
    def __init__(self, base: Path) -> None:
        self.base = base  # the node's delegated cgroup; holds node/ and one w-<n>/ per worker

    @classmethod
    def detect(cls, root: Path = _CGROUP2_ROOT) -> CgroupLimits | None:
        """The node's delegated cgroup v2 subtree with the memory controller, set up for workers;
        None where the node cannot create cgroups."""
        try:
            if not (root / "cgroup.controllers").is_file():  # not a cgroup v2 (unified) mount
                return None
            own = _own_cgroup(Path("/proc/self/cgroup").read_text())
            if own is None:
                return None
            base = root / own.lstrip("/")
            if base.name == "node":  # already set up by an earlier start in this cgroup
                base = base.parent
            if "memory" not in (base / "cgroup.controllers").read_text().split():
                return None
            if not os.access(base, os.W_OK) or not os.access(base / "cgroup.subtree_control", os.W_OK):
                return None
            leaf = base / "node"
            leaf.mkdir(exist_ok=True)
            (leaf / "cgroup.procs").write_text(str(os.getpid()))
            (base / "cgroup.subtree_control").write_text("+memory")
        except OSError as exc:
            log.info("cgroup v2 memory limits unavailable; the sampling supervisor enforces budgets",
                     reason=str(exc))
            return None
        return cls(base)

    def create(self, name: str, limit_bytes: int) -> Path:
        """A leaf cgroup for one worker, its memory capped; returns its path."""
        group = self.base / name
        group.mkdir(exist_ok=True)
        (group / "memory.max").write_text(str(limit_bytes))
        for knob, value in (("memory.swap.max", "0"), ("memory.oom.group", "1")):
            try:
                (group / knob).write_text(value)
            except OSError:  # no swap accounting on this kernel: nothing to cap
                pass
        return group

    @staticmethod
    def joiner(group: Path) -> bytes:
        """The path a child writes "0" to, right after fork, to enter its cgroup before it execs."""
        return os.fsencode(group / "cgroup.procs")

    @staticmethod
    def oom_killed(group: Path) -> bool:
        try:
            for line in (group / "memory.events").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value) > 0:
                    return True
        except (OSError, ValueError):
            pass
        return False

    @staticmethod
    def remove(group: Path) -> None:
        try:
            group.rmdir()  # a cgroup directory is removed with rmdir once it holds no process
        except OSError:
            shutil.rmtree(group, ignore_errors=True)


def enter_cgroup(procs_path: bytes) -> None:
    """preexec_fn: runs in the forked child before exec, so the worker never runs outside its limit."""
    fd = os.open(procs_path, os.O_WRONLY)
    try:
        os.write(fd, b"0")
    finally:
        os.close(fd)
