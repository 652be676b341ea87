"""Retention: GRAPH_API_BACKUP_KEEP_LAST and GRAPH_API_BACKUP_MAX_AGE_DAYS keep exactly what they say,
per graph and destination, after each successful backup, and /metrics counts what they pruned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from node_api.core.backup.retention import Candidate, RetentionPolicy
from tests.node_api.core.backup.backup_helpers import edit_manifest, signer
from tests.node_api.core.helpers import BUCKET, backup, create_graph, node_settings, running_node

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _ids(*ages_days: float) -> list[Candidate]:
    return [Candidate(f"b{n}", NOW - timedelta(days=age)) for n, age in enumerate(ages_days)]


@pytest.mark.parametrize(("policy", "ages", "keep", "pruned"), [
    (RetentionPolicy(), (0, 1, 2), "b0", []),
    (RetentionPolicy(keep_last=2), (0, 1, 2, 3), "b0", ["b3", "b2"]),
    (RetentionPolicy(keep_last=1), (0, 5, 1), "b0", ["b1", "b2"]),
    (RetentionPolicy(max_age_days=7), (0, 6.9, 7.1, 30), "b0", ["b3", "b2"]),
    # Both limits apply; the backup just written is never pruned, even when it is not the newest.
    (RetentionPolicy(keep_last=2, max_age_days=7), (0, 1, 2, 8), "b0", ["b3", "b2"]),
    (RetentionPolicy(keep_last=1), (-1, 0, 3), "b1", ["b2", "b0"]),
    (RetentionPolicy(max_age_days=1), (3,), "b0", []),
])
def test_policy(policy: RetentionPolicy, ages: tuple[float, ...], keep: str, pruned: list[str]) -> None:
    assert policy.to_prune(_ids(*ages), now=NOW, keep=keep) == pruned


def _pruned_metric(text: str) -> dict[str, float]:
    return {s.labels["destination"]: s.value for f in text_string_to_metric_families(text)
            if f.name == "graph_api_backups_pruned" for s in f.samples if s.name.endswith("_total")}


def _local_backup_ids(base_path: Path, graph_id: str) -> list[str]:
    root = base_path.resolve() / ".backups" / graph_id
    return sorted(p.name.removesuffix(".tar.zst") for p in root.glob("*.tar.zst"))


async def test_keep_last_per_graph_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPH_API_BACKUP_KEEP_LAST", "2")
    base = tmp_path / "dbs"
    async with running_node(node_settings(base)) as client:
        assert _pruned_metric((await client.get("/metrics")).text) == {"local": 0, "s3": 0}
        await create_graph(client, "g")
        await create_graph(client, "other")
        other = await backup(client, "other")
        made = [await backup(client, "g") for _ in range(4)]
        assert [r["pruned"] for r in made] == [[], [], [made[0]["backup_id"]], [made[1]["backup_id"]]]
        assert _local_backup_ids(base, "g") == sorted(r["backup_id"] for r in made[2:])
        listed = (await client.get("/databases/g/backups")).json()["backups"]
        assert [b["backup_id"] for b in listed] == [made[3]["backup_id"], made[2]["backup_id"]]
        assert _local_backup_ids(base, "other") == [other["backup_id"]]  # per graph
        assert _pruned_metric((await client.get("/metrics")).text) == {"local": 2, "s3": 0}


async def test_max_age_and_untrusted_backups_are_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPH_API_BACKUP_MAX_AGE_DAYS", "30")
    base = tmp_path / "dbs"
    async with running_node(node_settings(base)) as client:
        await create_graph(client, "g")
        old, recent, foreign = [await backup(client, "g") for _ in range(3)]
        node_signer = signer(client)
        now = datetime.now(UTC)
        edit_manifest(Path(old["location"]), node_signer, created_at=(now - timedelta(days=40)).isoformat())
        edit_manifest(Path(recent["location"]), node_signer, created_at=(now - timedelta(days=10)).isoformat())
        # Old as well, but not signed by this cluster: retention neither counts nor deletes it.
        edit_manifest(Path(foreign["location"]), None, created_at=(now - timedelta(days=400)).isoformat())
        newest = await backup(client, "g")
        assert newest["pruned"] == [old["backup_id"]]
        assert _local_backup_ids(base, "g") == sorted(r["backup_id"] for r in (recent, foreign, newest))


async def test_keep_last_in_s3(s3, base_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("GRAPH_API_BACKUP_KEEP_LAST", "1")
    async with running_node(node_settings(base_path)) as client:
        await create_graph(client, "gs")
        local = await backup(client, "gs")
        made = [await backup(client, "gs", destination="s3") for _ in range(3)]
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="graph-backups/gs/")["Contents"])
        last = made[-1]["backup_id"]
        assert keys == [f"graph-backups/gs/{last}.json", f"graph-backups/gs/{last}.tar.zst"]
        assert _local_backup_ids(base_path, "gs") == [local["backup_id"]]  # per destination
        assert _pruned_metric((await client.get("/metrics")).text) == {"local": 0, "s3": 2}
        listed = (await client.get("/databases/gs/backups")).json()["backups"]
        assert {(b["destination"], b["trusted"]) for b in listed} == {("s3", True), ("local", True)}
