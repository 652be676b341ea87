"""Which backups retention deletes: GRAPH_API_BACKUP_KEEP_LAST and GRAPH_API_BACKUP_MAX_AGE_DAYS.

Applied per graph and destination (local root, S3) after each successful backup, to the backups
whose signature verifies with this cluster's keys: a backup is deleted when it is not among the
newest `keep_last`, or when it is older than `max_age_days`; the backup just written is never
deleted. Backups the node cannot verify (another cluster's, tampered ones) are neither counted nor
deleted: retention never acts on what an attacker wrote. The S3 lifecycle rule of the CDK stack
(cdk/backups.py) expires what no node prunes (graphs no longer backed up).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Candidate:
    backup_id: str
    created_at: datetime  # from the signed manifest


@dataclass(frozen=True)
class RetentionPolicy:
    keep_last: int | None = None
    max_age_days: float | None = None

    @property
    def enabled(self) -> bool:
        return self.keep_last is not None or self.max_age_days is not None

    def to_prune(self, backups: list[Candidate], *, now: datetime, keep: str) -> list[str]:
        """Ids of the backups to delete, oldest first. `keep` (the backup just written) never is, and
        counts as the newest whatever the clocks of other nodes wrote into their manifests."""
        newest_first = sorted(backups, key=lambda b: (b.backup_id == keep, b.created_at, b.backup_id), reverse=True)
        cutoff = now - timedelta(days=self.max_age_days) if self.max_age_days is not None else None
        doomed = [
            b.backup_id for rank, b in enumerate(newest_first, start=1)
            if b.backup_id != keep and ((self.keep_last is not None and rank > self.keep_last)
                                        or (cutoff is not None and b.created_at < cutoff))
        ]
        return doomed[::-1]
