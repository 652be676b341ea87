"""The node's background tasks (staging, ingestion, S3 copy, backup, restore): one registry per node.

A task has a kind, an optional graph_id, a status (queued -> running -> succeeded | failed), progress
(0-100), a phase, row counts with their rate and ETA, a result or an error, paged error records, and
timestamps. State is a JSON file per task in `{base}/.tasks/`, rewritten atomically on every
transition (progress at most every 0.5 s), so a restart finds every task: one that was queued or
running when the node died is reported failed with code `interrupted`, never lost or left "running".

Tasks with the same `serial_key` (the graph_id for data tasks) run one at a time in submission
order; beyond `queue_bound` waiting ones, `submit` raises Overloaded (-> 503 + Retry-After).
Different keys run in parallel.

Progress a user can read: a job reports `rows_done` (and `rows_total` when it knows it) per phase;
the registry derives `rows_per_second` (rows of the current phase over its elapsed time) and
`eta_seconds` (rows left / that rate). A finished task keeps its counts, drops phase, message and
ETA, and reports its average rate over the whole run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from node_api.backends.errors import BackendError, BackendUnavailable, Overloaded
from node_api.core.task_settings import TaskSettings

if TYPE_CHECKING:

    pass

log = logging.getLogger(__name__)

TASKS_DIR = ".tasks"
_PERSIST_EVERY_S = 0.5
# A rate over less time than this is noise (one Arrow batch); the task shows no rate until then.
_MIN_RATE_WINDOW_S = 0.5
# Error records kept per task (the counts in its result are exact whatever this cap).
MAX_ERROR_RECORDS = 10_000


class TaskError(BackendError):
    status_code = 500


class TaskNotFound(TaskError):
    code = "task_not_found"
    status_code = 404


class TaskFailed(TaskError):
    """A task that failed where its original exception is not at hand (another process's, or
    cancelled/interrupted), answered with its recorded code."""

    def __init__(self, task: Task) -> None:
        error = task.error or {}
        super().__init__(error.get("message") or "the task failed", **dict(error.get("details") or {}))
        self.code = str(error.get("code") or "task_failed")
        self.details["task_id"] = task.task_id
        self.status_code = 503 if self.code in ("cancelled", "interrupted") else 500


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
    progress: float = 0.0  # percent
    phase: str | None = None  # what the task is doing now ("reading", "loading"...)
    rows_done: int = 0
    rows_total: int | None = None  # None: not known (yet)
    rows_per_second: float | None = None
    eta_seconds: float | None = None
    message: str | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    error_count: int = 0  # error records kept (GET /tasks/{id}/errors pages them)
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


@dataclass(frozen=True)
class ErrorPage:
    """One page of a task's error records (Neptune loader style: `page` from 1)."""

    task_id: str
    total: int
    page: int
    per_page: int
    errors: list[dict[str, Any]]


_UNSET: Any = object()


class TaskContext:
    """Handed to a running job. `report` and `record_errors` are safe to call from worker threads."""

    def __init__(self, registry: TaskRegistry, task_id: str, loop: asyncio.AbstractEventLoop) -> None:
        self._registry = registry
        self._loop = loop
        self.task_id = task_id

    def report(
        self,
        *,
        progress: float | None = None,
        rows_done: int | None = None,
        rows_total: int | None = _UNSET,
        phase: str | None = None,
        message: str | None = None,
    ) -> None:
        """progress: percent; rows_done/rows_total: rows of the current phase (rows_total=None: not
        known); a new `phase` restarts the rate measurement."""
        changes: dict[str, Any] = {}
        if progress is not None:
            changes["progress"] = max(0.0, min(100.0, float(progress)))
        if rows_done is not None:
            changes["rows_done"] = int(rows_done)
        if rows_total is not _UNSET:
            changes["rows_total"] = None if rows_total is None else int(rows_total)
        if phase is not None:
            changes["phase"] = phase
        if message is not None:
            changes["message"] = message
        if changes:
            self._on_loop(lambda: self._registry._report(self.task_id, changes))

    def record_errors(self, records: Iterable[dict[str, Any]]) -> None:
        """Error records of this task ({code, message, file?, row?, column?, value?}), appended in
        order; past MAX_ERROR_RECORDS they are dropped (counts live in the result)."""
        batch = list(islice(records, MAX_ERROR_RECORDS))
        if batch:
            self._on_loop(lambda: self._registry._append_errors(self.task_id, batch))

    def _on_loop(self, call: Callable[[], None]) -> None:
        try:
            running_loop = asyncio.get_running_loop()
        except RuntimeError:
            running_loop = None
        if running_loop is self._loop:
            call()
            return
        with contextlib.suppress(RuntimeError):  # the loop closed under a late worker thread
            self._loop.call_soon_threadsafe(call)


Job = Callable[[TaskContext], Awaitable[dict[str, Any]]]


def error_payload(exc: BaseException) -> dict[str, Any]:
    """What a failed task records: the error's own words; anything unexpected stays in the log."""
    if isinstance(exc, BackendError):
        return {"code": exc.code, "message": exc.message, "details": _jsonable(exc.details)}
    return {
        "code": "internal_error",
        "message": "the task failed unexpectedly; see the node's log",
        "details": {},
    }


def _jsonable(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value, default=str))


@dataclass
class _Pace:
    """Where the current phase started, for its rate."""

    phase: str | None
    started: float
    rows: int


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
        self._pace: dict[str, _Pace] = {}
        # The exception a job failed with, for requests waiting on it in this process (traceback
        # dropped); answered as if the request had raised it.
        self._failures: dict[str, BaseException] = {}
        self._changed: asyncio.Condition | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    @classmethod
    def from_settings(cls, base_path: Path, settings: TaskSettings) -> TaskRegistry:
        return cls(
            base_path,
            queue_bound=settings.queue_bound,
            retry_after_s=settings.retry_after_s,
            retention=settings.retention,
            shutdown_grace_s=settings.shutdown_grace_s,
        )

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
                    phase=None,
                    message=None,
                    eta_seconds=None,
                    rows_per_second=None,
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
        failed (`cancelled`), persisted. Idempotent; no task is accepted afterwards."""
        self._closed = True
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

    def errors(self, task_id: str, *, page: int = 1, per_page: int = 100) -> ErrorPage:
        """Page `page` (from 1) of the task's error records, oldest first."""
        task = self.get(task_id)
        start = (page - 1) * per_page
        records: list[dict[str, Any]] = []
        path = self._errors_path(task_id)
        if task.error_count and start < task.error_count:
            with contextlib.suppress(FileNotFoundError), path.open("rb") as lines:
                records = [orjson.loads(line) for line in islice(lines, start, start + per_page)]
        return ErrorPage(task_id, task.error_count, page, per_page, records)

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

    async def result(self, task_id: str) -> dict[str, Any]:
        """Waits for the task; its result, or the error it failed with raised again (the job's own
        exception when it ran in this process, with `task_id` added to its details)."""
        done = await self.wait(task_id)
        if done.status is TaskStatus.SUCCEEDED:
            return done.result or {}
        failure = self._failures.get(task_id)
        if isinstance(failure, BackendError):
            failure.details.setdefault("task_id", task_id)
            raise failure
        raise TaskFailed(done)

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
        if self._closed:
            raise BackendUnavailable("the node is shutting down; retry on another node or later")
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
            self._finish(task_id, TaskStatus.SUCCEEDED, progress=100.0, result=_jsonable(result))
        except asyncio.CancelledError:
            error = {
                "code": "cancelled",
                "message": "the node shut down before the task finished",
                "details": {},
            }
            self._finish(task_id, TaskStatus.FAILED, error=error)
            raise
        except Exception as exc:
            if not isinstance(exc, BackendError):
                log.exception("task %s failed", task_id)
            self._failures[task_id] = exc.with_traceback(None)
            self._finish(task_id, TaskStatus.FAILED, error=error_payload(exc))
        finally:
            self._running.pop(task_id, None)
            self._pace.pop(task_id, None)
            if serial_key is not None:
                self._pending[serial_key] -= 1
                if not self._pending[serial_key]:
                    del self._pending[serial_key]
                    self._serial_locks.pop(serial_key, None)

    # ---- state
    def _finish(self, task_id: str, status: TaskStatus, **changes: Any) -> None:
        task = self._tasks.get(task_id)
        if task is None:
            return
        finished = datetime.now(UTC)
        rate = None
        if task.started_at is not None and task.rows_done:
            elapsed = (finished - task.started_at).total_seconds()
            rate = round(task.rows_done / elapsed, 1) if elapsed > 0 else None
        self._update(
            task_id,
            status=status,
            finished_at=finished,
            phase=None,
            message=None,
            eta_seconds=None,
            rows_per_second=rate,
            persist=True,
            **changes,
        )

    def _report(self, task_id: str, changes: dict[str, Any]) -> None:
        task = self._tasks.get(task_id)
        if task is None or task.status.terminal:
            return
        now = asyncio.get_running_loop().time()
        rows = changes.get("rows_done", task.rows_done)
        pace = self._pace.get(task_id)
        if pace is None or ("phase" in changes and changes["phase"] != pace.phase):
            # A new phase measures its own rows from here.
            pace = self._pace[task_id] = _Pace(changes.get("phase", task.phase), now, rows)
            changes.setdefault("rows_per_second", None)
            changes.setdefault("eta_seconds", None)
        elapsed = now - pace.started
        if "rows_done" in changes and elapsed > 0 and elapsed >= _MIN_RATE_WINDOW_S:
            rate = (rows - pace.rows) / elapsed
            total = changes.get("rows_total", task.rows_total)
            changes["rows_per_second"] = round(rate, 1)
            changes["eta_seconds"] = (
                round(max(0, total - rows) / rate, 1) if rate > 0 and total is not None else None
            )
        self._update(task_id, **changes)

    def _append_errors(self, task_id: str, records: list[dict[str, Any]]) -> None:
        task = self._tasks.get(task_id)
        if task is None:
            return
        room = MAX_ERROR_RECORDS - task.error_count
        records = records[: max(0, room)]
        if not records:
            return
        with self._errors_path(task_id).open("ab") as out:
            out.writelines(orjson.dumps(_jsonable(r)) + b"\n" for r in records)
        task = self._tasks[task_id] = replace(task, error_count=task.error_count + len(records))
        if task.status.terminal:
            self._write(task)
        else:
            self._update(task_id)

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

    def _errors_path(self, task_id: str) -> Path:
        return self.dir / f"{task_id}.errors.jsonl"

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
            self._failures.pop(task.task_id, None)
            for path in (self.dir / f"{task.task_id}.json", self._errors_path(task.task_id)):
                with contextlib.suppress(OSError):
                    path.unlink()

