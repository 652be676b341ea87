"""Child processes of a local cluster: start, wait until ready, signal, stop; pids in the state dir.

Each process gets its own session, so `scripts/cluster up` can return while they keep running and
a terminal's Ctrl-C does not reach them. A pid read back from disk is only signalled while
/proc/<pid>/cmdline still shows our command (a recycled pid is never touched).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class ManagedProcess:
    name: str
    args: list[str]  # after `python -m`
    env: dict[str, str]
    log_path: Path
    pid_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", *self.args], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, cwd=REPO_ROOT, start_new_session=True,
            )
        self.pid_path.write_text(str(self.process.pid))
        return self

    @property
    def pid(self) -> int | None:
        if self.process is not None:
            return self.process.pid
        try:
            return int(self.pid_path.read_text())
        except (OSError, ValueError):
            return None

    def alive(self) -> bool:
        pid = self.pid
        if pid is None:
            return False
        if self.process is not None:
            return self.process.poll() is None
        try:  # a process started by another `scripts/cluster` invocation
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return [a.decode() for a in cmdline[2:2 + len(self.args)]] == self.args

    def wait_until(self, ready: Callable[[], bool], timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited; last log lines:\n{self.tail()}")
            if ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout_s:.0f} s; last log lines:\n{self.tail()}")

    def signal(self, sig: signal.Signals) -> None:
        pid = self.pid
        if pid is not None and self.alive():
            os.kill(pid, sig)

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM (graceful: a node deregisters), SIGKILL if it has not gone after `timeout_s`."""
        if not self.alive():
            self._forget()
            return
        self.signal(signal.SIGCONT)  # a stopped (SIGSTOP) process cannot act on SIGTERM
        self.signal(signal.SIGTERM)
        if not self._wait_exit(timeout_s):
            self.signal(signal.SIGKILL)
            self._wait_exit(5.0)
        self._forget()

    def kill(self) -> None:
        """SIGKILL, as a crash: no shutdown code runs."""
        self.signal(signal.SIGKILL)
        self._wait_exit(10.0)
        self._forget()

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _wait_exit(self, timeout_s: float) -> bool:
        if self.process is not None:
            try:
                self.process.wait(timeout_s)
                return True
            except subprocess.TimeoutExpired:
                return False
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.alive():
                return True
            time.sleep(0.1)
        return False

    def _forget(self) -> None:
        self.pid_path.unlink(missing_ok=True)


def http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=1.0, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    return check
