"""What one running node holds: its settings and every service, typed, built once by the app's
lifespan (app.py) and reached by routes through deps.py."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from node_api.backends.base import GraphBackend
from node_api.core.admission import AdmissionController
from node_api.core.disk import DiskGuard
from node_api.core.metrics import NodeMetrics
from node_api.core.tasks import TaskRegistry
from node_api.security.auth import ApiKeyProvider
from node_api.settings import NodeSettings

if TYPE_CHECKING:
    from node_api.cluster.registration import NodeRegistration
    from node_api.core.backup.service import BackupService
    from node_api.core.staging.service import StagingService


@dataclass
class NodeState:
    settings: NodeSettings
    backend: GraphBackend
    admission: AdmissionController
    key_provider: ApiKeyProvider
    metrics: NodeMetrics
    tasks: TaskRegistry  # the node's one registry: staging, ingestion, backup and restore tasks
    backups: BackupService
    staging: StagingService  # its routes answer 400 not_supported where the backend has no staging tables
    disk: DiskGuard  # the free-space floor of the base path's volume
    registration: NodeRegistration | None = None  # set when the node joins a cluster
    started_monotonic: float = field(default_factory=time.monotonic)

    @property
    def uptime_seconds(self) -> float:
        return round(time.monotonic() - self.started_monotonic, 3)
