"""What one running node holds: settings, backend, admission control and auth keys.

Built once in the app's lifespan and reached by routes through deps.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from node_api.backends.base import GraphBackend
from node_api.core.admission import AdmissionController
from node_api.security.auth import ApiKeyProvider
from node_api.settings import NodeSettings


@dataclass
class NodeState:
    settings: NodeSettings
    backend: GraphBackend
    admission: AdmissionController
    key_provider: ApiKeyProvider
    started_monotonic: float = field(default_factory=time.monotonic)
    # Services added by other modules (tasks, staging, cluster registration), by name.
    services: dict[str, Any] = field(default_factory=dict)

    @property
    def uptime_seconds(self) -> float:
        return round(time.monotonic() - self.started_monotonic, 3)
