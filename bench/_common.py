"""Shared helpers for the benchmarks: processes on loopback, RSS sampling, latency statistics."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil

REPO = Path(__file__).resolve().parents[1]
API_KEY = "bench-key"
HEADERS = {"X-Graph-API-Key": API_KEY}
SAFE_ENV = {"AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1"}


RESULTS_DIR = REPO / "bench" / "results"


def write_result(name: str, summary: dict) -> None:
    """bench/results/<name>.json, and the same on stdout."""
    import json

    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_process(args: list[str], env: dict[str, str], ready_url: str, log: Path) -> subprocess.Popen[bytes]:
    handle = open(log, "wb")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen(args, env={**os.environ, **SAFE_ENV, **env}, stdout=handle, stderr=subprocess.STDOUT,
                            cwd=REPO)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{args} exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(ready_url, timeout=1).status_code < 500:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{args} did not become ready")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def start_node(base_path: Path, port: int, log: Path, *, engine: str = "kuzu", **env: str) -> subprocess.Popen[bytes]:
    return start_process(
        [sys.executable, "-m", "node_api", "--base-path", str(base_path), "--port", str(port)],
        {"GRAPH_API_KEY": API_KEY, "LOG_LEVEL": "WARNING", "GRAPH_BACKEND_TYPE": engine,
         "GRAPH_API_SYSTEM_MEMORY_HIGH_WATER_PERCENT": "100", **env},
        f"http://127.0.0.1:{port}/status/live", log,
    )


GRAPH_FILES = {"kuzu": "graph.kuzu", "ladybug": "graph.lbug"}


def graph_file(base_path: Path, graph_id: str, engine: str) -> Path:
    """Where a node keeps a graph's database file (backends/embedded/profiles.py)."""
    return base_path / graph_id / GRAPH_FILES[engine]


def engine_alone(engine: str, *args: str) -> dict:
    """Runs bench/engine_alone.py (the engine in a process of its own); returns its JSON answer."""
    import json

    out = subprocess.run([sys.executable, str(REPO / "bench" / "engine_alone.py"), engine, *args],
                         capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


def tree_rss(pid: int) -> tuple[int, dict[int, int]]:
    """(resident bytes of a process, {child pid: resident bytes} of its descendants)."""
    root = psutil.Process(pid)
    children = {}
    for child in root.children(recursive=True):
        try:
            children[child.pid] = child.memory_info().rss
        except psutil.Error:
            pass
    return root.memory_info().rss, children


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(CPU seconds, user + system, of a process; of its live descendants together). A descendant
    that exits before the second reading drops out: read both sides while they all still run."""
    root = psutil.Process(pid)
    times = root.cpu_times()
    children = 0.0
    for child in root.children(recursive=True):
        try:
            child_times = child.cpu_times()
            children += child_times.user + child_times.system
        except psutil.Error:
            pass
    return times.user + times.system, children


class PeakRss:
    """Samples a process's RSS (and, apart, each of its descendants': the node's engine workers) every
    few milliseconds in a background thread; keeps the peaks."""

    def __init__(self, pid: int, interval_s: float = 0.005) -> None:
        self.process = psutil.Process(pid)
        self.interval_s = interval_s
        self.baseline = self.process.memory_info().rss
        self.peak = self.baseline
        self.child_baseline = {c.pid: c.memory_info().rss for c in self.process.children(recursive=True)}
        self.child_peak = dict(self.child_baseline)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            for child in self.process.children(recursive=True):
                try:
                    self.child_peak[child.pid] = max(self.child_peak.get(child.pid, 0), child.memory_info().rss)
                except psutil.Error:
                    pass
            time.sleep(self.interval_s)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.baseline) / 2**20

    @property
    def child_growth_mb(self) -> float:
        """The largest growth of any one descendant (0 without any)."""
        return max(((peak - self.child_baseline.get(pid, 0)) / 2**20 for pid, peak in self.child_peak.items()),
                   default=0.0)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def latency_summary(latencies_s: list[float], elapsed_s: float) -> dict[str, float]:
    return {
        "requests": len(latencies_s),
        "throughput_rps": round(len(latencies_s) / elapsed_s, 1),
        "p50_ms": round(percentile(latencies_s, 50) * 1000, 3),
        "p99_ms": round(percentile(latencies_s, 99) * 1000, 3),
        "mean_ms": round(statistics.fmean(latencies_s) * 1000, 3),
    }
