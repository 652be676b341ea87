"""Background tasks of the node: ingestion now, backup/restore later. Generic on purpose.

A task has a kind, an optional graph_id, a status (queued -> running -> succeeded | failed),
progress (0-100), rows done, a result or an error, and timestamps. State is a JSON file per task in
`{base}/.tasks/`, rewritten atomically on every transition (progress at most every 0.5 s), so a
restart finds every task: one that was queued or running when the node died is reported failed with
code `interrupted`, never lost or left "running" forever.

Tasks with the same `serial_key` (the graph_id for ingestion) run one at a time in submission order;
beyond `queue_bound` waiting ones, `submit` raises Overloaded (-> 503 + Retry-After). Different
keys run in parallel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson

from node_api.backends.errors import BackendError, Overloaded
from node_api.core.staging.errors import TaskNotFound

log = logging.getLogger(__name__)

TASKS_DIR = ".tasks"
_PERSIST_EVERY_S = 0.5


class TaskStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (TaskStatus.SUCCEEDED, TaskStatus.FAILED)


@dataclass(frozen=True)
class Task:
    task_id: str
    kind: str
    graph_id: str | None
    status: TaskStatus
    created_at: datetime
    params: dict[str, Any] = field(default_factory=dict)
    progress: float = 0.0
    rows_done: int = 0
    message: str | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    version: int = 0  # bumped on every change; watchers compare it

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        for key in ("created_at", "started_at", "finished_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Task:
        data = dict(data)
        data["status"] = TaskStatus(data["status"])
        for key in ("created_at", "started_at", "finished_at"):
            data[key] = datetime.fromisoformat(data[key]) if data.get(key) else None
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


class TaskContext:
    """Handed to a running job. `report` is safe to call from worker threads."""

    def __init__(self, registry: TaskRegistry, task_id: str, loop: asyncio.AbstractEventLoop) -> None:
        self._registry = registry
        self._loop = loop
        self.task_id = task_id

    def report(
        self, *, progress: float | None = None, rows_done: int | None = None, message: str | None = None
    ) -> None:
        changes: dict[str, Any] = {}
        if progress is not None:
            changes["progress"] = max(0.0, min(100.0, float(progress)))
        if rows_done is not None:
            changes["rows_done"] = int(rows_done)
        if message is not None:
            changes["message"] = message
        if not changes:
            return
        try:
            running_loop = asyncio.get_running_loop()
        except RuntimeError:
            running_loop = None
        if running_loop is self._loop:
            self._registry._update(self.task_id, **changes)
            return
        with contextlib.suppress(RuntimeError):  # the loop closed under a late worker thread
            self._loop.call_soon_threadsafe(lambda: self._registry._update(self.task_id, **changes))


Job = Callable[[TaskContext], Awaitable[dict[str, Any]]]


def error_payload(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, BackendError):
        return {"code": exc.code, "message": exc.message, "details": _jsonable(exc.details)}
    return {"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"[:1000], "details": {}}


def _jsonable(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value, default=str))


class TaskRegistry:
    def __init__(
        self,
        base_path: Path,
        *,
        queue_bound: int,
        retry_after_s: int,
        retention: int = 1000,
        shutdown_grace_s: float = 0.0,
    ) -> None:
        self.dir = base_path / TASKS_DIR
        self.queue_bound = queue_bound
        self.retry_after_s = retry_after_s
        self.retention = retention
        self.shutdown_grace_s = shutdown_grace_s
        self._tasks: dict[str, Task] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._serial_locks: dict[str, asyncio.Lock] = {}
        self._pending: dict[str, int] = {}  # per serial key: queued + running
        self._persisted_at: dict[str, float] = {}
        self._flush_scheduled: set[str] = set()
        self._changed: asyncio.Condition | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # ---- lifecycle
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Condition()
        await asyncio.to_thread(self._load)

    def _load(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC)
        for path in self.dir.glob("*.json"):
            try:
                task = Task.from_json(orjson.loads(path.read_bytes()))
            except (OSError, ValueError, TypeError, KeyError) as exc:
                log.warning("unreadable task file %s: %s", path, exc)
                continue
            if not task.status.terminal:
                task = replace(
                    task,
                    status=TaskStatus.FAILED,
                    finished_at=now,
                    error={
                        "code": "interrupted",
                        "message": f"the node stopped while this task was {task.status.value}; it did not complete",
                        "details": {},
                    },
                    version=task.version + 1,
                )
                self._write(task)
            self._tasks[task.task_id] = task
        self._prune()

    async def close(self) -> None:
        """Lets running tasks finish within the grace period, then cancels the rest: those end
        failed (`cancelled`), persisted."""
        running = list(self._running.values())
        if running and self.shutdown_grace_s > 0:
            await asyncio.wait(running, timeout=self.shutdown_grace_s)
        running = [job for job in running if not job.done()]
        for job in running:
            job.cancel()
        for job in running:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await job

    # ---- queries
    def get(self, task_id: str) -> Task:
        task = self._tasks.get(task_id)
        if task is None:
            raise TaskNotFound(f"task {task_id!r} not found", task_id=task_id)
        return task

    def list(self, *, graph_id: str | None = None, kind: str | None = None, limit: int = 100) -> list[Task]:
        tasks = [
            t
            for t in self._tasks.values()
            if (graph_id is None or t.graph_id == graph_id) and (kind is None or t.kind == kind)
        ]
        tasks.sort(key=lambda t: t.created_at, reverse=True)
        return tasks[:limit]

    def queue_depth(self, serial_key: str | None = None) -> int:
        if serial_key is not None:
            return self._pending.get(serial_key, 0)
        return sum(self._pending.values())

    async def watch(self, task_id: str) -> AsyncIterator[Task]:
        """Yields the task now and after every change, ending after its terminal state."""
        assert self._changed is not None, "TaskRegistry.start() was not awaited"
        seen = -1
        while True:
            task = self.get(task_id)
            if task.version != seen:
                seen = task.version
                yield task
                if task.status.terminal:
                    return
            async with self._changed:
                await self._changed.wait_for(lambda seen=seen: self.get(task_id).version != seen)

    async def wait(self, task_id: str) -> Task:
        last = self.get(task_id)
        async for snapshot in self.watch(task_id):
            last = snapshot
        return last

    # ---- submission
    def submit(
        self,
        kind: str,
        job: Job,
        *,
        graph_id: str | None = None,
        serial_key: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> Task:
        assert self._loop is not None, "TaskRegistry.start() was not awaited"
        if serial_key is not None and self._pending.get(serial_key, 0) > self.queue_bound:
            raise Overloaded(
                f"{self._pending[serial_key]} tasks already running or queued for {serial_key!r}; retry later",
                retry_after_s=self.retry_after_s,
                queue_bound=self.queue_bound,
            )
        task = Task(
            task_id=f"task_{secrets.token_hex(10)}",
            kind=kind,
            graph_id=graph_id,
            status=TaskStatus.QUEUED,
            created_at=datetime.now(UTC),
            params=_jsonable(params or {}),
        )
        self._tasks[task.task_id] = task
        self._write(task)
        if serial_key is not None:
            self._pending[serial_key] = self._pending.get(serial_key, 0) + 1
        runner = self._loop.create_task(self._run(task.task_id, job, serial_key), name=task.task_id)
        self._running[task.task_id] = runner
        self._prune()
        return task

    async def _run(self, task_id: str, job: Job, serial_key: str | None) -> None:
        assert self._loop is not None
        lock = self._serial_locks.setdefault(serial_key, asyncio.Lock()) if serial_key else None
        try:
            async with lock if lock is not None else contextlib.nullcontext():
                self._update(task_id, status=TaskStatus.RUNNING, started_at=datetime.now(UTC), persist=True)
                result = await job(TaskContext(self, task_id, self._loop))
            self._update(
                task_id,
                status=TaskStatus.SUCCEEDED,
                progress=100.0,
                result=_jsonable(result),
                finished_at=datetime.now(UTC),
                persist=True,
            )
        except asyncio.CancelledError:
            self._update(
                task_id,
                status=TaskStatus.FAILED,
                error={
                    "code": "cancelled",
                    "message": "the node shut down before the task finished",
                    "details": {},
                },
                finished_at=datetime.now(UTC),
                persist=True,
            )
            raise
        except Exception as exc:
            if not isinstance(exc, BackendError):
                log.exception("task %s failed", task_id)
            self._update(
                task_id,
                status=TaskStatus.FAILED,
                error=error_payload(exc),
                finished_at=datetime.now(UTC),
                persist=True,
            )
        finally:
            self._running.pop(task_id, None)
            if serial_key is not None:
                self._pending[serial_key] -= 1
                if not self._pending[serial_key]:
                    del self._pending[serial_key]
                    self._serial_locks.pop(serial_key, None)

    # ---- state
    def _update(self, task_id: str, *, persist: bool = False, **changes: Any) -> None:
        task = self._tasks.get(task_id)
        if task is None or task.status.terminal:
            return
        task = replace(task, version=task.version + 1, **changes)
        self._tasks[task_id] = task
        loop = asyncio.get_running_loop()
        since = loop.time() - self._persisted_at.get(task_id, 0.0)
        if persist or task.status.terminal or since >= _PERSIST_EVERY_S:
            self._flush(task_id)
        elif task_id not in self._flush_scheduled:
            # Throttled, not dropped: the latest progress reaches the disk shortly after.
            self._flush_scheduled.add(task_id)
            loop.call_later(_PERSIST_EVERY_S - since, self._flush, task_id)
        self._notify()

    def _flush(self, task_id: str) -> None:
        self._flush_scheduled.discard(task_id)
        task = self._tasks.get(task_id)
        if task is None:
            return
        self._write(task)
        if task.status.terminal:
            self._persisted_at.pop(task_id, None)
        else:
            self._persisted_at[task_id] = asyncio.get_running_loop().time()

    def _notify(self) -> None:
        changed = self._changed
        if changed is None:
            return

        async def _wake() -> None:
            async with changed:
                changed.notify_all()

        asyncio.get_running_loop().create_task(_wake())

    def _write(self, task: Task) -> None:
        # Small file, atomic replace: a crash leaves the previous state, never half a file.
        path = self.dir / f"{task.task_id}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_bytes(orjson.dumps(task.to_json()))
        os.replace(tmp, path)

    def _prune(self) -> None:
        finished = sorted(
            (t for t in self._tasks.values() if t.status.terminal), key=lambda t: t.created_at, reverse=True
        )
        for task in finished[self.retention :]:
            del self._tasks[task.task_id]
            with contextlib.suppress(OSError):
                (self.dir / f"{task.task_id}.json").unlink()
