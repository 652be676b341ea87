"""Crafted archives (issue 14): whatever an archive and its manifest say, a restore creates nothing
outside its own work directory, answers backup_corrupt or backup_untrusted, and leaves the graph as
it was. Each attack runs twice: signed with the node's key (a compromised signer: the extraction's
own checks must hold) and unsigned (refused before the archive is read)."""

from __future__ import annotations

import tarfile
from pathlib import Path

import httpx
import pytest

from tests.node_api.core.backup.backup_helpers import (
    Member,
    file_entry,
    regular,
    replace_backup,
    restore_outcome,
    signer,
    special,
    tree,
)
from tests.node_api.core.helpers import backup, create_graph, dump, populate

GOOD = b"not really a database, but listed by the manifest"


def _typed(member: Member, kind: bytes) -> Member:
    member[0].type = kind
    return member


def _attacks(tmp: Path) -> dict[str, tuple[list[Member], list[dict], bytes]]:
    """name -> (archive members, the manifest's file list, bytes appended inside the zstd stream).
    Targets are under the test's tmp tree, so a failing guard shows up there (and nowhere else)."""
    absolute = str(tmp / "escaped-absolute.txt")
    dotdot = "../../../../../escaped-dotdot.txt"  # from {base}/.backups/.work/restore-*/data
    other_graph = "../../../../victim/evil.txt"
    bomb = b"\0" * (64 << 20)
    return {
        # The manifest lists the attacker's names: refused before queueing (not the backend's names).
        "absolute name, listed": ([regular(absolute, b"x")], [file_entry(absolute, b"x")], b""),
        "dotdot name, listed": ([regular(dotdot, b"x")], [file_entry(dotdot, b"x")], b""),
        "into another graph, listed": ([regular(other_graph, b"x")], [file_entry(other_graph, b"x")], b""),
        # The manifest lists a legitimate file; the archive holds something else.
        "absolute name": ([regular(absolute, GOOD)], [file_entry("graph.kuzu", GOOD)], b""),
        "dotdot name": ([regular(dotdot, GOOD)], [file_entry("graph.kuzu", GOOD)], b""),
        "symlink then write through it": (
            [special("graph.kuzu", tarfile.SYMTYPE, str(tmp / "escaped-symlink.txt")), regular("graph.kuzu", GOOD)],
            [file_entry("graph.kuzu", GOOD)], b""),
        "hardlink to an outside file": (
            [special("graph.kuzu", tarfile.LNKTYPE, str(tmp / "dbs" / "victim" / "meta.json"))],
            [file_entry("graph.kuzu", GOOD)], b""),
        "directory": ([special("graph.kuzu", tarfile.DIRTYPE)], [file_entry("graph.kuzu", GOOD)], b""),
        "device": ([special("graph.kuzu", tarfile.CHRTYPE)], [file_entry("graph.kuzu", GOOD)], b""),
        "fifo": ([special("graph.kuzu", tarfile.FIFOTYPE)], [file_entry("graph.kuzu", GOOD)], b""),
        "contiguous file": ([_typed(regular("graph.kuzu", GOOD), tarfile.CONTTYPE)],
                            [file_entry("graph.kuzu", GOOD)], b""),
        "member not in the manifest": (
            [regular("graph.kuzu", GOOD), regular("graph.kuzu.wal", GOOD)], [file_entry("graph.kuzu", GOOD)], b""),
        "member twice": (
            [regular("graph.kuzu", GOOD), regular("graph.kuzu", GOOD)], [file_entry("graph.kuzu", GOOD)], b""),
        "size other than declared (bomb)": (
            [regular("graph.kuzu", bomb)], [file_entry("graph.kuzu", GOOD)], b""),
        "huge pax header (bomb)": (
            [regular("graph.kuzu", GOOD, comment="x" * (48 << 20))], [file_entry("graph.kuzu", GOOD)], b""),
        "content other than declared": (
            [regular("graph.kuzu", GOOD.upper())], [file_entry("graph.kuzu", GOOD)], b""),
        "declared file missing": ([], [file_entry("graph.kuzu", GOOD)], b""),
        "garbage after the archive": (
            [regular("graph.kuzu", GOOD)], [file_entry("graph.kuzu", GOOD)], b"\0" * (32 << 20)),
    }


ATTACKS = list(_attacks(Path("/")))


def _work_area(path: Path) -> bool:
    # The restore's own scratch space, and the task registry's state files, may change.
    return ".work" in path.parts or ".tasks" in path.parts


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
@pytest.mark.parametrize("attack", ATTACKS)
async def test_crafted_archive_writes_nothing_outside_the_work_directory(
    client: httpx.AsyncClient, tmp_path: Path, attack: str, signed: bool
) -> None:
    await create_graph(client, "victim")
    await populate(client, "victim", 10)
    await create_graph(client, "g")
    await populate(client, "g", 10)
    location = (await backup(client, "g"))["location"]
    before_data = await dump(client, "g")
    victim_data = await dump(client, "victim")
    members, files, trailer = _attacks(tmp_path)[attack]
    replace_backup(Path(location), members, files, signer(client) if signed else None, trailer)
    before = tree(tmp_path, _work_area)

    outcome = await restore_outcome(client, "g", location)
    as_new_graph = await restore_outcome(client, "g", location, target="gnew")

    if signed:
        assert outcome in ((422, "backup_corrupt"), (202, "backup_corrupt")), outcome
    else:
        assert outcome == (422, "backup_untrusted"), outcome
    assert as_new_graph == outcome
    assert tree(tmp_path, _work_area) == before  # nothing created, nothing removed, anywhere
    assert not [p for p in tree(tmp_path) if p.name.startswith("escaped-")]
    assert tree(tmp_path / "dbs" / ".backups" / ".work") == set()
    assert await dump(client, "g") == before_data
    assert await dump(client, "victim") == victim_data
    assert (await client.get("/databases/gnew")).status_code == 404


async def test_a_signed_backup_of_real_files_still_restores(client: httpx.AsyncClient) -> None:
    """The guards refuse only what is wrong: the node's own archive passes them all."""
    await create_graph(client, "g")
    await populate(client, "g", 30)
    result = await backup(client, "g")
    assert await restore_outcome(client, "g", result["location"], target="gcopy") == (202, None)
    assert await dump(client, "gcopy") == await dump(client, "g")
