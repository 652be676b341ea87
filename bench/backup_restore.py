"""Backup and restore throughput of a 1M-node, 5M-edge Kuzu database against the command-line limit.

    .venv/bin/python bench/backup_restore.py [--nodes 1000000 --edges 5000000 --rounds 3]

The node runs in-process (create_app); the benchmark drives the operations service the HTTP routes
call. In one run, on the same files, page cache warm for every step alike, rounds interleaved and
the median kept:
- plain copy: `cp` of the database file, what any file-level backup must at least do;
- the command-line limit (issue 14): backup `tar -c | zstd -T0 -1 | sha256sum` (the archive is not
  even written), restore `sha256sum x.tar.zst && zstd -d -c x.tar.zst | tar -x` (verify, then
  extract). Skipped with a message if the `zstd` tool is missing (Debian package `zstd`);
- the node's archive steps on the same files: `archive.pack` writing the archive file (tar, zstd on
  every core, sha256 of every file and of the archive) and the restore's `verified_copy` +
  `archive.extract` (sha256 of the archive, then safe extraction hashing every file);
- the whole backup and restore tasks: the consistent snapshot (and the writer held back meanwhile,
  while a writer keeps inserting), pack, sign, store; verify, extract, open and check the copy,
  publish it as a new graph (each task `rounds` times too).
MB/s are of the database's bytes on disk (uncompressed), so every figure compares directly. CPU
seconds (all threads of the node's process; the pipeline's processes) are reported beside the wall
clock: on a shared machine the scheduler's share of the cores moves the wall clock, not the CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from node_api.app import create_app
from node_api.backends.base import StatementKind
from node_api.backends.embedded.catalog import Catalog
from node_api.core.backup.archive import extract, hash_stream, pack, scan
from node_api.settings import NodeSettings

REPO = Path(__file__).resolve().parents[1]
DDL = ["CREATE NODE TABLE Person(id INT64, name STRING, score DOUBLE, PRIMARY KEY(id))",
       "CREATE REL TABLE Knows(FROM Person TO Person, since INT64)"]


async def load(backend: Any, graph_id: str, nodes: int, edges: int) -> None:
    ids = pa.array(range(nodes), pa.int64())
    people = pa.table({"id": ids, "name": pc.binary_join_element_wise("person-", pc.cast(ids, pa.string()), ""),
                       "score": pc.divide(pc.cast(ids, pa.float64()), float(nodes))})
    await backend.bulk_load(graph_id, "Person", people, ignore_errors=False)
    step = 1_000_000
    for start in range(0, edges, step):
        n = min(step, edges - start)
        seq = pa.array(range(start, start + n), pa.int64())
        # A cheap deterministic spread of endpoints (multiplicative hashing), no numpy needed.
        src = pc.bit_wise_and(pc.multiply(seq, 2654435761), 0x7FFFFFFF)
        dst = pc.bit_wise_and(pc.multiply(seq, 40503), 0x7FFFFFFF)
        knows = pa.table({"from": pc.cast(pc.floor(pc.divide(pc.multiply(pc.cast(src, pa.float64()), nodes), 2**31)),
                                          pa.int64()),
                          "to": pc.cast(pc.floor(pc.divide(pc.multiply(pc.cast(dst, pa.float64()), nodes), 2**31)),
                                        pa.int64()),
                          "since": pc.add(pc.bit_wise_and(seq, 31), 1990)})
        await backend.bulk_load(graph_id, "Knows", knows, ignore_errors=False)


async def writer(backend: Any, graph_id: str, stop: asyncio.Event, latencies: list[float], first_id: int) -> None:
    i = first_id
    while not stop.is_set():
        started = time.perf_counter()
        await backend.execute(graph_id, "CREATE (:Person {id: $id, name: 'w'})", {"id": i}, timeout_s=60,
                              kind=StatementKind.WRITE)
        latencies.append((time.perf_counter() - started) * 1000)
        i += 1
        await asyncio.sleep(0.005)


def _cpu_seconds() -> float:
    """CPU time of this process (every thread) and of its finished children (the command line)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _timed(step: Callable[[], Any], cpu: list[float] | None = None) -> float:
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    step()
    if cpu is not None:
        cpu.append(_cpu_seconds() - cpu_started)
    return time.perf_counter() - started


def _shell(command: str) -> None:
    subprocess.run(["bash", "-o", "pipefail", "-c", command], check=True, stdout=subprocess.DEVNULL)


def _fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _pack(source: Path, names: list[str], archive: Path, manifest: dict[str, Any]) -> None:
    with archive.open("wb") as out:
        packed = pack(source, names, out)
    manifest.update(files=packed.files, archive=packed.archive.to_json())


def _unpack(archive: Path, dest: Path, manifest: dict[str, Any], pattern: Any) -> None:
    """What a restore does with a local archive: verify its sha256, then extract it safely."""
    with archive.open("rb") as src:
        assert hash_stream(src) == (manifest["archive"]["sha256"], manifest["archive"]["size_bytes"])
    with archive.open("rb") as src:
        extract(src, _fresh(dest), manifest, pattern)


def archive_steps(source: Path, names: list[str], pattern: Any, scratch: Path, rounds: int,
                  has_cli: bool) -> dict[str, list[float]]:
    """Seconds per round of each archive step, rounds interleaved (same cache, same load)."""
    times: dict[str, list[float]] = {k: [] for k in ("plain_copy", "cli_backup", "cli_restore", "pack", "unpack")}
    files = " ".join(names)
    ours, cli = scratch / "ours.tar.zst", scratch / "cli.tar.zst"
    copy, cli_out, ours_out = scratch / "copy", scratch / "cli-out", scratch / "ours-out"
    if has_cli:
        _shell(f"tar -c -C {source} {files} | zstd -T0 -1 -q -c > {cli}")
    manifest: dict[str, Any] = {}
    steps: dict[str, Callable[[], Any]] = {
        "plain_copy": lambda: [shutil.copyfile(source / n, _fresh(copy) / n) for n in names],
        "cli_backup": lambda: _shell(f"tar -c -C {source} {files} | zstd -T0 -1 -q -c | sha256sum"),
        "cli_restore": lambda: _shell(f"sha256sum {cli} && zstd -d -c -q {cli} | tar -x -C {_fresh(cli_out)}"),
        "pack": lambda: _pack(source, names, ours, manifest),
        "unpack": lambda: _unpack(ours, ours_out, manifest, pattern),
    }
    for _ in range(rounds):
        for name, step in steps.items():
            if has_cli or not name.startswith("cli_"):
                times[name].append(_timed(step, times.setdefault(f"{name}_cpu", [])))
    for leftover in (copy, cli_out, ours_out):
        shutil.rmtree(leftover, ignore_errors=True)
    return times


async def run(nodes: int, edges: int, rounds: int) -> dict[str, Any]:
    has_cli = shutil.which("zstd") is not None and shutil.which("sha256sum") is not None
    if not has_cli:
        print("zstd tool not found (Debian package `zstd`): skipping the command-line comparison", file=sys.stderr)
    with tempfile.TemporaryDirectory(dir=REPO / ".bench-tmp" if (REPO / ".bench-tmp").is_dir() else None) as tmp:
        base = Path(tmp) / "dbs"
        settings = NodeSettings(base_path=base, api_key="bench-key", memory_per_db_mb=1024, threads_per_db=2,
                                max_db_size_gb=64)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            node = app.state.node
            backend, service = node.backend, node.backups
            await backend.create_database("big", "custom", DDL)
            started = time.perf_counter()
            await load(backend, "big", nodes, edges)
            load_s = time.perf_counter() - started
            graph_dir = backend.catalog.graph_dir("big")
            db_bytes = Catalog.size_bytes(graph_dir)

            # The archive steps on a still copy of the database's files (the live ones may checkpoint).
            still = Path(tmp) / "still"
            still.mkdir()
            for name in os.listdir(graph_dir):
                if backend.backup_file_pattern.fullmatch(name):
                    shutil.copyfile(graph_dir / name, still / name)
            names = scan(still, backend.backup_file_pattern)
            raw_bytes = sum((still / n).stat().st_size for n in names)
            times = await asyncio.to_thread(archive_steps, still, names, backend.backup_file_pattern,
                                            Path(tmp), rounds, has_cli)
            shutil.rmtree(still)

            registry = await service.tasks()
            backup_s, restore_s, latencies, results = [], [], [], []
            for n in range(rounds):
                stop = asyncio.Event()
                write_task = asyncio.create_task(writer(backend, "big", stop, latencies, 10_000_000 * (n + 1)))
                await asyncio.sleep(0.5)
                started = time.perf_counter()
                task = await registry.wait((await service.start_backup("big", "local")).task_id)
                backup_s.append(time.perf_counter() - started)
                stop.set()
                await write_task
                assert task.status.value == "succeeded", task.error
                result = task.result or {}
                results.append(result)

                started = time.perf_counter()
                restored = await registry.wait(
                    (await service.start_restore("big", result["location"], f"bigcopy{n}")).task_id)
                restore_s.append(time.perf_counter() - started)
                assert restored.status.value == "succeeded", restored.error
                check = await backend.database_stats(f"bigcopy{n}")
                assert (check.node_count, check.rel_count) == (result["node_count"], result["rel_count"])
                await backend.delete_database(f"bigcopy{n}")

    mb, raw_mb = db_bytes / 1e6, raw_bytes / 1e6
    times.update(backup_task=backup_s, restore_task=restore_s)
    med = {k: statistics.median(v) for k, v in times.items() if v}

    def rate(seconds: float, size_mb: float = raw_mb) -> float:
        return round(size_mb / seconds, 1)

    out: dict[str, Any] = {
        "benchmark": "backup_restore",
        "nodes": nodes,
        "edges": edges,
        "database_mb": round(mb, 1),
        "archived_file_mb": round(raw_mb, 1),
        "archive_mb": round(results[0]["size_bytes"] / 1e6, 1),
        "compression_ratio": round(results[0]["raw_bytes"] / results[0]["size_bytes"], 2),
        "load_seconds": round(load_s, 1),
        "rounds": rounds,
        "plain_copy_mb_per_s": rate(med["plain_copy"]),
        "pack_mb_per_s": rate(med["pack"]),
        "unpack_mb_per_s": rate(med["unpack"]),
        "backup_task_mb_per_s": rate(med["backup_task"], mb),
        "backup_write_lock_ms": statistics.median(r["write_lock_ms"] for r in results),
        "backup_snapshot_seconds": statistics.median(r["copy_seconds"] for r in results),
        "restore_task_mb_per_s": rate(med["restore_task"], mb),
        "writes_during_backup": len(latencies),
        "write_latency_ms_median": round(statistics.median(latencies), 2) if latencies else None,
        "write_latency_ms_max": round(max(latencies), 1) if latencies else None,
        "cpu_cores": os.cpu_count(),
        "seconds": {k: [round(x, 3) for x in v] for k, v in times.items() if v},
    }
    if has_cli:
        out.update({
            "cli_backup_mb_per_s": rate(med["cli_backup"]),
            "cli_restore_mb_per_s": rate(med["cli_restore"]),
            "pack_vs_cli": round(med["cli_backup"] / med["pack"], 3),
            "pack_cpu_vs_cli": round(med["cli_backup_cpu"] / med["pack_cpu"], 3),
            "unpack_cpu_vs_cli": round(med["cli_restore_cpu"] / med["unpack_cpu"], 3),
            "unpack_vs_cli": round(med["cli_restore"] / med["unpack"], 3),
            "backup_task_vs_cli": round(med["cli_backup"] / med["backup_task"], 3),
            "restore_task_vs_cli": round(med["cli_restore"] / med["restore_task"], 3),
        })
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--edges", type=int, default=5_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "backup_restore.json")
    args = parser.parse_args()
    result = asyncio.run(run(args.nodes, args.edges, args.rounds))
    print(json.dumps(result, indent=2))
    if args.nodes >= 1_000_000:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
