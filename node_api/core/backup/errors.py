"""Errors of backup and restore. Each carries its HTTP status (one handler maps the lot).

They subclass BackendError, so a task that fails with one records its code and message, and a
backend may raise them too (the Kuzu backend's storage-version guard does).
"""

from __future__ import annotations

from node_api.backends.errors import BackendError


class BackupError(BackendError):
    code = "backup_error"
    status_code = 400


class InvalidBackupLocation(BackupError):
    """Not the node's backup root nor the configured S3 bucket, or a path trick."""

    code = "invalid_backup_location"
    status_code = 400


class BackupForbidden(BackupError):
    """The location belongs to another graph: a tenant never reads another tenant's backups."""

    code = "backup_forbidden"
    status_code = 403


class BackupNotFound(BackupError):
    code = "backup_not_found"
    status_code = 404


class BackupDestinationUnavailable(BackupError):
    """S3 was asked for but no backup bucket is configured on this node."""

    code = "backup_destination_unavailable"
    status_code = 400


class IncompatibleBackup(BackupError):
    """Another engine, engine version or storage version: the files would not open here."""

    code = "incompatible_backup"
    status_code = 422


class BackupCorrupt(BackupError):
    """Checksum, manifest or content check failed (or a member the extraction refuses): nothing was
    replaced, nothing written outside the restore's work directory."""

    code = "backup_corrupt"
    status_code = 422


class BackupUntrusted(BackupError):
    """Unsigned, or not signed by a key of this cluster: refused before its archive is read."""

    code = "backup_untrusted"
    status_code = 422


class BackupSigningUnavailable(BackupError):
    """The node has no signing key (none configured, or Secrets Manager unreachable)."""

    code = "backup_signing_unavailable"
    status_code = 503
