"""The node's metrics: Prometheus exposition for scrapers, and the figures CloudWatch gets.

Each app owns its CollectorRegistry (never the process-global one), so several apps in one process
(tests, benchmarks) keep separate counts. Request latencies are observed as they happen (through
RequestContext's on_complete); node-wide figures (databases, pools, memory, disk) are read from
the live state at scrape time by `take_snapshot`, so they are never stale.
"""

from __future__ import annotations

import asyncio
import shutil
from collections import deque
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from node_api.backends.base import EngineProcessStats
from node_api.backends.errors import BackendError

if TYPE_CHECKING:
    from node_api.state import NodeState

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
_RECENT_QUERIES = 10_000  # latencies kept for the CloudWatch publisher between two publications
QUERY_OPERATIONS = frozenset({"query"})
_NOT_INGESTION = frozenset({"backup", "restore"})


@dataclass(frozen=True)
class NodeSnapshot:
    databases: int
    max_databases: int
    open_databases: int
    max_open_databases: int
    active_connections: int
    idle_connections: int
    waiting_requests: int
    pool_capacity: int  # connections the open databases may hold
    queries_in_flight: int
    queries_queued: int
    requests_rejected: int
    ingestion_queue_depth: int
    memory_rss_bytes: int
    memory_limit_bytes: int
    volume_used_bytes: int
    volume_total_bytes: int
    database_sizes: dict[str, int] = field(default_factory=dict)
    engine: EngineProcessStats | None = None

    @property
    def capacity_percent(self) -> float:
        return round(100.0 * self.databases / max(1, self.max_databases), 2)

    @property
    def pool_utilization_percent(self) -> float:
        return round(100.0 * self.active_connections / max(1, self.pool_capacity), 2)

    @property
    def volume_percent(self) -> float:
        return round(100.0 * self.volume_used_bytes / max(1, self.volume_total_bytes), 2)


def ingestion_queue_depth(node: NodeState) -> int:
    return sum(1 for t in node.tasks.list(limit=1_000_000) if not t.status.terminal and t.kind not in _NOT_INGESTION)


async def take_snapshot(node: NodeState, *, with_sizes: bool = True) -> NodeSnapshot:
    backend, settings, admission = node.backend, node.settings, node.admission
    stats = backend.stats()
    infos = await backend.list_databases()

    sizes: dict[str, int] = {}
    for info in infos if with_sizes else []:
        with suppress(BackendError):  # deleted or being replaced meanwhile
            sizes[info.graph_id] = (await backend.database_info(info.graph_id)).size_bytes or 0
    usage = await asyncio.to_thread(shutil.disk_usage, settings.base_path)
    used, total = usage.used, usage.total
    return NodeSnapshot(
        databases=await backend.database_count(),
        max_databases=settings.max_databases,
        open_databases=stats.open_databases,
        max_open_databases=settings.max_open_databases,
        active_connections=stats.active_connections,
        idle_connections=stats.idle_connections,
        waiting_requests=stats.waiting_requests,
        pool_capacity=stats.open_databases * settings.connection_pool_size,
        queries_in_flight=admission.in_flight,
        queries_queued=admission.queued,
        requests_rejected=admission.rejected,
        ingestion_queue_depth=ingestion_queue_depth(node),
        memory_rss_bytes=admission.rss_bytes,
        memory_limit_bytes=settings.max_memory_mb << 20,
        volume_used_bytes=used,
        volume_total_bytes=total,
        database_sizes=sizes,
        engine=backend.engine_processes(),
    )


class NodeMetrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.recent_query_ms: deque[float] = deque(maxlen=_RECENT_QUERIES)
        self.request_seconds = Histogram(
            "graph_api_request_duration_seconds", "Request latency by operation (route name) and status class.",
            ["operation", "status"], buckets=_LATENCY_BUCKETS, registry=r)
        self.operations = Counter(
            "graph_api_operations", "Backups and restores by result.", ["operation", "result"], registry=r)
        self.operation_bytes = Counter(
            "graph_api_operation_bytes", "Archive bytes written by backups and read by restores.",
            ["operation"], registry=r)
        self.operation_seconds = Histogram(
            "graph_api_operation_duration_seconds", "Backup and restore durations.", ["operation"],
            buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600), registry=r)
        self.backups_pruned = Counter(
            "graph_api_backups_pruned", "Backups deleted by retention (GRAPH_API_BACKUP_KEEP_LAST, "
            "GRAPH_API_BACKUP_MAX_AGE_DAYS), by destination.", ["destination"], registry=r)
        for destination in ("local", "s3"):
            self.backups_pruned.labels(destination)  # listed (at 0) before the first prune

        def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
            return Gauge(name, doc, labels, registry=r)

        self._gauges = {
            "databases": gauge("graph_api_databases", "Databases on this node."),
            "max_databases": gauge("graph_api_databases_max", "Databases this node may hold (capacity)."),
            "capacity_percent": gauge("graph_api_database_capacity_utilization_percent",
                                      "Databases held as a percentage of the node's capacity."),
            "open_databases": gauge("graph_api_databases_open", "Databases with an open engine handle."),
            "max_open_databases": gauge("graph_api_databases_open_max", "Open handles allowed at once."),
            "active_connections": gauge("graph_api_connections_active", "Engine connections checked out."),
            "idle_connections": gauge("graph_api_connections_idle", "Pooled engine connections not in use."),
            "waiting_requests": gauge("graph_api_connections_waiting", "Requests waiting for a connection."),
            "pool_utilization_percent": gauge("graph_api_connection_pool_utilization_percent",
                                              "Active connections over what the open databases' pools allow."),
            "queries_in_flight": gauge("graph_api_queries_in_flight", "Queries admitted and running."),
            "queries_queued": gauge("graph_api_queries_queued", "Queries waiting for admission."),
            "requests_rejected": gauge("graph_api_requests_rejected", "Requests refused by admission control "
                                       "since start (503)."),
            "ingestion_queue_depth": gauge("graph_api_ingestion_queue_depth", "Ingestion tasks queued or running."),
            "memory_rss_bytes": gauge("graph_api_memory_rss_bytes",
                                      "Resident memory of the node's processes (HTTP process and engine workers)."),
            "memory_limit_bytes": gauge("graph_api_memory_limit_bytes", "The node's memory budget."),
            "volume_used_bytes": gauge("graph_api_volume_used_bytes", "Used bytes of the data volume."),
            "volume_total_bytes": gauge("graph_api_volume_total_bytes", "Size of the data volume."),
            "volume_percent": gauge("graph_api_volume_usage_percent", "Data volume usage."),
        }
        self._database_size = gauge("graph_api_database_size_bytes", "Bytes on disk per database.", ("graph_id",))
        self._workers = gauge("graph_api_engine_workers", "Engine worker processes running (one per open database).")
        self._worker_rss = gauge("graph_api_engine_worker_memory_bytes", "Resident memory of each engine worker.",
                                 ("graph_id",))
        self._worker_exits = _WorkerExits()
        r.register(self._worker_exits)

    def observe_request(self, operation: str, status: int, duration_ms: float) -> None:
        """RequestContext's on_complete: runs once per request, on the event loop."""
        self.request_seconds.labels(operation, f"{status // 100}xx").observe(duration_ms / 1000)
        if operation in QUERY_OPERATIONS:
            self.recent_query_ms.append(duration_ms)

    def observe_operation(self, operation: str, ok: bool, seconds: float, size_bytes: int) -> None:
        self.operations.labels(operation, "success" if ok else "failure").inc()
        if ok:
            self.operation_seconds.labels(operation).observe(seconds)
            self.operation_bytes.labels(operation).inc(size_bytes)

    def observe_pruned(self, destination: str, count: int) -> None:
        self.backups_pruned.labels(destination).inc(count)

    def drain_query_latencies(self) -> list[float]:
        values = list(self.recent_query_ms)
        self.recent_query_ms.clear()
        return values

    def render(self, snapshot: NodeSnapshot) -> bytes:
        for name, gauge in self._gauges.items():
            gauge.set(getattr(snapshot, name))
        self._database_size.clear()  # deleted databases disappear from the exposition
        for graph_id, size in snapshot.database_sizes.items():
            self._database_size.labels(graph_id).set(size)
        self._worker_rss.clear()
        if snapshot.engine is not None:
            self._workers.set(snapshot.engine.workers)
            for label, rss in snapshot.engine.worker_rss_bytes.items():
                self._worker_rss.labels(label).set(rss)
            self._worker_exits.exits = snapshot.engine.exits
        return generate_latest(self.registry)


class _WorkerExits(Collector):
    """graph_api_engine_worker_exits_total{reason}: how engine workers ended since the node started
    (crashed = a segfault or abort; memory / node_memory / timeout / abandoned = killed by the node)."""

    def __init__(self) -> None:
        self.exits: dict[str, int] = {}

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily("graph_api_engine_worker_exits", "Engine worker processes ended, by reason.",
                                     labels=["reason"])
        for reason, count in self.exits.items():
            family.add_metric([reason], count)
        yield family
