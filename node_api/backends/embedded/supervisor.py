"""Memory budgets for engine workers: each database's, and the node's as a whole.

An embedded engine's buffer pool is no cap on a query's memory: Kuzu 0.11.3 keeps `range()` lists,
hash tables and result collectors outside it (one query reached 24 GB; measured growth here
~1.25 GB/s); LadybugDB 0.22.0 streams results but still builds `range()` lists and `collect()` outside
it (1 GB for a 256 MB pool, docs/engine-facts.md). So the budget is enforced on the worker process,
two ways:

- cgroup v2 (cgroups.py), where the node may create cgroups (a systemd unit with `Delegate=yes`,
  see cdk/node/graph-node.service): each worker's `memory.max` is its budget and the kernel stops it
  at once; `memory.events` tells the node it was an OOM kill.
- everywhere, this supervisor: a thread samples each worker's resident set every
  GRAPH_API_MEMORY_SAMPLE_MS (25 ms: at ~1.25 GB/s a worker overshoots by ~30 MB at most) and kills
  a worker past its budget. It also keeps the node's whole process tree (the HTTP process and every
  worker) under KUZU_MAX_MEMORY_MB: past it, if the HTTP process itself holds the most (staging SQL
  runs DuckDB there), the work registered with `relievers` is stopped (tenant staging queries);
  otherwise the largest worker running a query is killed, or, if none is, the largest idle one is
  closed. Past the high-water mark (GRAPH_API_MEMORY_HIGH_WATER_PERCENT, where admission refuses new
  work) idle workers are closed too, so a node there gets back under it instead of refusing work
  until databases time out (found by attacking).

Sampling reads /proc/<pid>/statm (about 10 microseconds a worker) on its own thread, never on the
event loop.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from node_api.backends.embedded.process import ExitReason, WorkerProcess
from node_api.core.logs import get_logger

log = get_logger(__name__)
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes(pid: int) -> int:
    """Resident set size of a process from /proc (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


class MemorySupervisor:
    def __init__(self, *, node_limit_bytes: int, high_water_bytes: int, interval_s: float,
                 reclaim: Callable[[WorkerProcess], None]) -> None:
        """`reclaim(worker)` is called (from the supervisor thread) to close an idle worker when the
        node is past its high-water mark; it must only schedule the close on the event loop."""
        self.node_limit_bytes = node_limit_bytes
        self.high_water_bytes = high_water_bytes
        # Act this far below the limit: between two samples a query can grow ~30 MB (1.25 GB/s, 25 ms),
        # more when the machine is loaded and this thread runs late (a 50 MB overshoot was seen).
        self.margin_bytes = (64 << 20) + node_limit_bytes // 50
        self.relievers: list[Callable[[], bool]] = []
        self.interval_s = interval_s
        self._reclaim = reclaim
        self._workers: dict[int, WorkerProcess] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.own_pid = os.getpid()
        self.own_rss_bytes = resident_bytes(self.own_pid)
        self.kills: dict[ExitReason, int] = {ExitReason.MEMORY: 0, ExitReason.NODE_MEMORY: 0}

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="memory-supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def watch(self, worker: WorkerProcess) -> None:
        with self._lock:
            self._workers[worker.pid] = worker

    def forget(self, worker: WorkerProcess) -> None:
        with self._lock:
            self._workers.pop(worker.pid, None)

    @property
    def tree_rss_bytes(self) -> int:
        """The node's resident memory: the HTTP process and every worker, as last sampled."""
        with self._lock:
            workers = list(self._workers.values())
        return self.own_rss_bytes + sum(w.rss_bytes for w in workers if w.alive)

    def workers(self) -> list[WorkerProcess]:
        with self._lock:
            return list(self._workers.values())

    def sample(self) -> None:
        """One pass: sample every worker, enforce the per-worker and the node budgets."""
        self.own_rss_bytes = resident_bytes(self.own_pid)
        live = [w for w in self.workers() if w.alive]
        for worker in live:
            worker.rss_bytes = resident_bytes(worker.pid)
            if worker.rss_bytes > worker.limits.memory_limit_bytes:
                self._kill(worker, ExitReason.MEMORY, worker.rss_bytes)
        live = [w for w in live if w.alive]
        total = self.own_rss_bytes + sum(w.rss_bytes for w in live)
        if total <= self.high_water_bytes:
            return
        idle = [w for w in live if not w.busy and w.label != "spare"]
        if total <= self.node_limit_bytes - self.margin_bytes:
            if idle:  # between the high-water mark and the limit: give memory back, stop nothing
                self._reclaim(max(idle, key=lambda w: w.rss_bytes))
            return
        largest_worker = max((w.rss_bytes for w in live), default=0)
        if self.own_rss_bytes >= largest_worker and any(relieve() for relieve in list(self.relievers)):
            log.warning("node memory past KUZU_MAX_MEMORY_MB, the node's own process the largest: "
                        "its staging queries were stopped", node_mb=self.own_rss_bytes >> 20,
                        tree_mb=total >> 20, limit_mb=self.node_limit_bytes >> 20)
            return
        busy = [w for w in live if w.busy]
        if busy:
            self._kill(max(busy, key=lambda w: w.rss_bytes), ExitReason.NODE_MEMORY, total)
        elif idle:
            victim = max(idle, key=lambda w: w.rss_bytes)
            log.warning("node memory past KUZU_MAX_MEMORY_MB: closing the largest idle database",
                        graph_id=victim.label, tree_mb=total >> 20, limit_mb=self.node_limit_bytes >> 20)
            self._reclaim(victim)

    def _kill(self, worker: WorkerProcess, reason: ExitReason, observed: int) -> None:
        limit = worker.limits.memory_limit_bytes if reason is ExitReason.MEMORY else self.node_limit_bytes
        worker.kill(reason, detail=f"{observed >> 20} MB resident, limit {limit >> 20} MB")
        self.kills[reason] += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.sample()
            except Exception:  # noqa: BLE001 - the supervisor must outlive any one bad sample
                log.exception("memory supervisor pass failed")
            self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - started)))
