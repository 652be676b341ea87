"""The node's free-space floor: writes stop before the volume is full, reads go on.

Every tenant's databases, staging databases, task records and local backups share the base path's
volume, so one tenant filling it would stop them all, and an engine that meets ENOSPC in the middle
of a write (a WAL append, a checkpoint) can leave its database to WAL recovery or worse. Below
`GRAPH_API_MIN_FREE_DISK_MB` the node refuses anything that writes (InsufficientStorage, 507 with
Retry-After) until space comes back: deleted graphs, pruned backups (`GRAPH_API_BACKUP_KEEP_LAST`),
or a larger volume.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from node_api.backends.errors import InsufficientStorage

_SAMPLE_S = 1.0  # statvfs is cheap, but not worth a call per request


class DiskGuard:
    """Free bytes on the volume holding `base_path` (statvfs, as `df` reports them to non-root users),
    sampled at most once a second, against a floor in bytes (0: off)."""

    def __init__(self, base_path: Path, floor_bytes: int, retry_after_s: int = 30) -> None:
        self.base_path = base_path
        self.floor_bytes = floor_bytes
        self.retry_after_s = retry_after_s
        self._free: int | None = None
        self._sampled = 0.0

    def free_bytes(self) -> int:
        now = time.monotonic()
        if self._free is None or now - self._sampled >= _SAMPLE_S:
            stats = os.statvfs(self.base_path)
            self._free, self._sampled = stats.f_bavail * stats.f_frsize, now
        return self._free

    @property
    def low(self) -> bool:
        return self.floor_bytes > 0 and self.free_bytes() < self.floor_bytes

    def require_headroom(self) -> None:
        """Raises InsufficientStorage (507) when the volume is below the floor."""
        if self.low:
            free_mb, floor_mb = self.free_bytes() >> 20, self.floor_bytes >> 20
            raise InsufficientStorage(
                f"the node's volume has {free_mb} MB free, below its floor of {floor_mb} MB "
                "(GRAPH_API_MIN_FREE_DISK_MB): writes are refused until space is freed; reads go on",
                retry_after_s=self.retry_after_s, free_mb=free_mb, min_free_disk_mb=floor_mb)
