"""The backup settings are documented where docs/configuration.md says settings are."""

from __future__ import annotations

from node_api.core.backup.settings import BackupSettings
from tests.support.node import REPO_ROOT


def test_every_backup_setting_is_documented() -> None:
    text = (REPO_ROOT / "docs" / "configuration.md").read_text()
    for field in BackupSettings.model_fields.values():
        alias = field.validation_alias
        names = alias.choices if hasattr(alias, "choices") else [alias]
        assert all(f"`{n}`" in text for n in names), names
