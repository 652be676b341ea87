"""The node's side of one engine worker process: start it, open channels to it, stop or kill it.

A `WorkerProcess` is a child started with `python -m node_api.backends.embedded.worker`; it opens one
database (or a build directory nothing serves) and serves `Channel`s, each a socket to one engine
connection in the worker. How a worker ended is recorded once, by whoever ended it (the memory
supervisor, a query's hard deadline, an orderly stop) or, if nobody did, by its exit status: that
`WorkerExit` is what the requests it was serving are answered with (errors.py `worker_gone_error`).
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import itertools
import os
import pickle
import signal
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from node_api.backends.embedded.profiles import EngineProfile
from node_api.backends.embedded.protocol import (
    CONTROL_PACKET,
    PeerClosed,
    ProtocolError,
    control_packet,
    encode_for_worker,
    read_from_worker,
)
from node_api.core.logs import get_logger

log = get_logger(__name__)

_STDERR_TAIL = 40  # lines kept for the crash log
# What a worker inherits from the node's environment: nothing secret (API keys, AWS credentials).
_ENV_KEPT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "PYTHONPATH", "PYTHONHASHSEED", "VIRTUAL_ENV")


class ExitReason(StrEnum):
    CRASHED = "crashed"  # ended by itself: a signal (segfault, abort), the kernel's OOM killer, an error
    MEMORY = "memory"  # killed past its database's budget (KUZU_MEMORY_PER_DB_MB)
    NODE_MEMORY = "node_memory"  # killed to keep the node under KUZU_MAX_MEMORY_MB
    TIMEOUT = "timeout"  # killed: a query ran past its timeout plus GRAPH_API_TIMEOUT_GRACE_S
    ABANDONED = "abandoned"  # killed: a query whose client left did not stop within the grace
    STOPPED = "stopped"  # closed by the node (idle, replaced, deleted, shutting down)


@dataclass(frozen=True)
class WorkerLimits:
    buffer_pool_bytes: int
    max_db_size_bytes: int
    threads: int
    memory_limit_bytes: int  # the worker's hard budget: buffer pool, query memory and the process itself
    grace_s: float  # how long an interrupted or orderly-stopped worker gets before it is killed
    open_timeout_s: float = 120.0  # opening replays the WAL, which can take long after a crash


@dataclass
class WorkerExit:
    reason: ExitReason
    returncode: int | None
    blamed_channel: int | None = None
    detail: str = ""

    @property
    def signal_name(self) -> str | None:
        if self.returncode is not None and self.returncode < 0:
            try:
                return signal.Signals(-self.returncode).name
            except ValueError:
                return f"signal {-self.returncode}"
        return None

    def describe(self) -> str:
        how = self.signal_name or (f"exit status {self.returncode}" if self.returncode is not None else "killed")
        return f"{self.reason.value} ({how})" + (f": {self.detail}" if self.detail else "")


class WorkerGone(Exception):
    """The worker ended while a request was using it; `exit` says how."""

    def __init__(self, exit_info: WorkerExit, channel_id: int | None) -> None:
        super().__init__(exit_info.describe())
        self.exit = exit_info
        self.channel_id = channel_id


class EngineFailure(Exception):
    """The engine refused a request (the worker is fine): its error type and message, and whether
    the connection must be dropped."""

    def __init__(self, error_type: str, message: str, discard: bool) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.discard = discard


def fingerprint(statement: str) -> str:
    """A statement's log identity: crashes are logged with it, never with the statement itself."""
    return hashlib.sha256(statement.encode()).hexdigest()[:16]


class WorkerProcess:
    _ids = itertools.count(1)

    def __init__(self, process: asyncio.subprocess.Process, control: socket.socket, label: str,
                 limits: WorkerLimits, on_exit: Callable[[WorkerProcess, WorkerExit], None] | None) -> None:
        self.process = process
        self.pid = process.pid
        self.label = label  # the graph_id, or a build directory's name
        self.limits = limits
        self._control = control
        self._on_exit = on_exit
        self._channel_ids = itertools.count(1)
        self._kill: WorkerExit | None = None
        self.exit: WorkerExit | None = None
        self.in_flight: dict[int, str] = {}  # channel id -> fingerprint of the statement it runs
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL)
        self.rss_bytes = 0  # sampled by the supervisor
        self.engine_version = ""
        self.storage_version = 0
        self.sandbox = ""  # how the worker confined itself: "landlock abi N" or "unavailable"
        self.extensions: frozenset[str] = frozenset()  # loaded at open
        self.extension_errors: dict[str, str] = {}
        self._pidfd: int | None = None
        try:
            self._pidfd = os.pidfd_open(process.pid)
        except (AttributeError, OSError):  # pidfds need Linux 5.3: fall back to the pid
            pass
        self._ended = asyncio.get_running_loop().create_future()
        self._tasks = [asyncio.create_task(self._pump_stderr(), name=f"worker-{self.pid}-stderr"),
                       asyncio.create_task(self._watch(), name=f"worker-{self.pid}-watch")]

    # ---- start

    @classmethod
    async def spawn(cls, profile: EngineProfile, *, limits: WorkerLimits, preexec: Callable[[], None] | None = None,
                    on_exit: Callable[[WorkerProcess, WorkerExit], None] | None = None) -> WorkerProcess:
        """Starts a worker process with the engine imported and no database open (a spare, until
        `open`): what a new database's first request would otherwise wait for."""
        node_end, worker_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {k: v for k, v in os.environ.items() if k in _ENV_KEPT}
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "node_api.backends.embedded.worker", "--engine", profile.module,
                "--control-fd", str(worker_end.fileno()),
                pass_fds=(worker_end.fileno(),), stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # a terminal's Ctrl-C reaches the node, which stops its workers
                env=env, cwd="/", preexec_fn=preexec,
            )
        finally:
            worker_end.close()
        node_end.setblocking(False)
        return cls(process, node_end, "spare", limits, on_exit)

    async def open(self, path: Path, *, label: str, read_only: Sequence[Path] = (),
                   extensions: Mapping[str, Path] | None = None) -> None:
        """Opens `path` in this worker; it confines itself to `path`'s directory (read-write) and
        `read_only` beside its code (sandbox.py), then loads `extensions` ({name: file}; `extensions`
        and `extension_errors` say what became of them). Raises EngineFailure if the engine cannot open
        the database (the worker is then stopped), WorkerGone if the worker died."""
        self.label = label
        limits = self.limits
        try:
            await self._send_control({
                "op": "open", "path": str(path), "buffer_pool_bytes": limits.buffer_pool_bytes,
                "threads": limits.threads, "max_db_size_bytes": limits.max_db_size_bytes,
                "read_write": [str(path.parent)], "read_only": [str(p) for p in read_only],
                "extensions": {name: str(file) for name, file in (extensions or {}).items()},
            })
            async with asyncio.timeout(limits.open_timeout_s):
                reply = await self._read_control()
        except BaseException:
            self.kill(ExitReason.STOPPED)
            raise
        if not reply.get("ok"):
            self.kill(ExitReason.STOPPED)
            error = reply.get("error") or {}
            raise EngineFailure(str(error.get("type", "")), str(error.get("message", "")), discard=True)
        self.engine_version = str(reply.get("engine_version", ""))
        self.sandbox = str(reply.get("sandbox", "unavailable"))
        self.storage_version = int(reply.get("storage_version", 0))
        loaded = reply.get("extensions") or {}
        self.extensions = frozenset(str(n) for n in loaded.get("loaded", []))
        self.extension_errors = {str(k): str(v) for k, v in (loaded.get("failed") or {}).items()}

    async def _send_control(self, header: dict[str, Any], fds: Sequence[int] = ()) -> None:
        packet = control_packet(header)
        while True:
            try:
                socket.send_fds(self._control, [packet], list(fds))
                return
            except BlockingIOError:  # the worker is slow to read its control socket
                await asyncio.sleep(0.001)
            except OSError as exc:
                raise WorkerGone(await self.ended(), None) from exc

    async def _read_control(self) -> dict[str, Any]:
        import orjson

        data = await asyncio.get_running_loop().sock_recv(self._control, CONTROL_PACKET)
        if not data:
            raise WorkerGone(await self.ended(), None)
        reply = orjson.loads(data)
        if not isinstance(reply, dict):
            raise ProtocolError("a worker's control reply is not an object")
        return reply

    # ---- channels

    async def channel(self) -> Channel:
        """A new connection in the worker, served by its own thread there."""
        if self.exit is not None or self._kill is not None:
            raise WorkerGone(await self.ended(), None)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        channel_id = next(self._channel_ids)
        try:
            await self._send_control({"op": "channel", "id": channel_id}, [theirs.fileno()])
        finally:
            theirs.close()
        reader, writer = await asyncio.open_unix_connection(sock=ours, limit=1 << 20)
        return Channel(self, channel_id, reader, writer)

    def interrupt(self, channel_id: int) -> None:
        if self.alive:
            try:
                self._control.send(control_packet({"op": "interrupt", "id": channel_id}))
            except OSError:
                pass  # gone or its control buffer is full: the hard deadline still holds

    # ---- ending

    @property
    def alive(self) -> bool:
        return self.exit is None and self._kill is None

    @property
    def busy(self) -> bool:
        return bool(self.in_flight)

    def kill(self, reason: ExitReason, *, blame: int | None = None, detail: str = "") -> None:
        """SIGKILL, recording why; the first reason given wins. Safe from any thread."""
        if self._kill is None and self.exit is None:
            self._kill = WorkerExit(reason, None, blame, detail)
        try:
            if self._pidfd is not None:
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
            else:
                os.kill(self.pid, signal.SIGKILL)
        except (ProcessLookupError, OSError):
            pass

    async def stop(self) -> WorkerExit:
        """Orderly: the worker checkpoints and closes its database; killed if it takes past the grace."""
        if self.exit is None and self._kill is None:
            self._kill = WorkerExit(ExitReason.STOPPED, None)
            try:
                self._control.send(control_packet({"op": "shutdown"}))
            except OSError:
                pass
            try:
                async with asyncio.timeout(self.limits.grace_s + 5):
                    return await self.ended()
            except TimeoutError:
                log.warning("worker did not stop in time; killed", graph_id=self.label, pid=self.pid)
        self.kill(ExitReason.STOPPED)
        return await self.ended()

    async def ended(self) -> WorkerExit:
        return await asyncio.shield(self._ended)

    async def _watch(self) -> None:
        returncode = await self.process.wait()
        recorded = self._kill
        if recorded is None:
            exit_info = WorkerExit(ExitReason.CRASHED, returncode)
        else:
            exit_info = WorkerExit(recorded.reason, returncode, recorded.blamed_channel, recorded.detail)
        if self._on_exit is not None:
            self._on_exit(self, exit_info)  # may refine the reason (a cgroup's OOM kill)
        self.exit = exit_info
        for task in self._tasks[:1]:
            await asyncio.wait({task}, timeout=1)  # the last stderr lines, for the log
        if exit_info.reason is ExitReason.CRASHED or (returncode and exit_info.reason is ExitReason.STOPPED
                                                      and returncode not in (0, -signal.SIGKILL)):
            log.error("engine worker died", graph_id=self.label, pid=self.pid, how=exit_info.describe(),
                      statements=sorted(set(self.in_flight.values())), stderr=list(self.stderr_tail)[-10:])
        elif exit_info.reason is not ExitReason.STOPPED:
            log.warning("engine worker killed", graph_id=self.label, pid=self.pid, how=exit_info.describe(),
                        statements=sorted(set(self.in_flight.values())))
        self._control.close()
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        self._ended.set_result(exit_info)

    async def _pump_stderr(self) -> None:
        stream = self.process.stderr
        assert stream is not None
        while line := await stream.readline():
            text = line.decode(errors="replace").rstrip()
            if text:
                self.stderr_tail.append(text)


@dataclass(eq=False)  # identity: channels live in sets
class Channel:
    """One engine connection in a worker; one request at a time (the pool checks it out)."""

    worker: WorkerProcess
    id: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    broken: bool = field(default=False)  # must not serve again (engine asked, or a reply was lost)

    async def call(self, header: dict[str, Any], blobs: Sequence[bytes | memoryview] = (), *,
                   deadline: float | None = None, statement: str | None = None) -> tuple[dict[str, Any], list[bytes]]:
        """Sends one request and returns the reply (header, blobs).

        Raises EngineFailure for an engine error, WorkerGone when the worker died. Past `deadline`
        (loop time) the worker is killed: a query the engine did not stop by then never will. If
        the caller is cancelled (its client left), the query is interrupted and the worker gets
        the grace period to stop it before it is killed.
        """
        if self.broken:
            raise RuntimeError("a broken channel was reused")
        try:
            frames = encode_for_worker(header, blobs)
        except (RecursionError, pickle.PicklingError, TypeError) as exc:
            raise EngineFailure("ValueError", "Binder exception: the parameters nest too deeply or hold a value "
                                "that cannot be sent to the engine.", discard=False) from exc
        if statement is not None:
            self.worker.in_flight[self.id] = fingerprint(statement)
        try:
            try:
                self.writer.writelines(frames)
                await self.writer.drain()
            except (ConnectionError, OSError):
                self.broken = True
                raise WorkerGone(await self.worker.ended(), self.id) from None
            pending = asyncio.ensure_future(read_from_worker(self.reader))
            try:
                async with asyncio.timeout_at(deadline):
                    reply, out = await asyncio.shield(pending)
            except TimeoutError:
                self.broken = True
                self.worker.kill(ExitReason.TIMEOUT, blame=self.id)
                await _settle(pending)
                raise WorkerGone(await self.worker.ended(), self.id) from None
            except asyncio.CancelledError:
                self.broken = True
                if not pending.done():
                    self.worker.interrupt(self.id)
                    await asyncio.wait({pending}, timeout=self.worker.limits.grace_s)
                    if not pending.done():
                        self.worker.kill(ExitReason.ABANDONED, blame=self.id)
                await _settle(pending)
                raise
            except PeerClosed:
                self.broken = True
                raise WorkerGone(await self.worker.ended(), self.id) from None
        finally:
            if statement is not None:
                self.worker.in_flight.pop(self.id, None)
        if not reply.get("ok"):
            error = reply.get("error") or {}
            discard = bool(reply.get("discard"))
            self.broken = self.broken or discard
            raise EngineFailure(str(error.get("type", "")), str(error.get("message", "")), discard)
        return reply, out

    def close(self) -> None:
        self.broken = True
        self.writer.close()


async def _settle(pending: asyncio.Future[Any]) -> None:
    """Waits for an abandoned read to end (the worker answers or dies) and drops its outcome."""
    await asyncio.wait({pending})
    if not pending.cancelled():
        pending.exception()  # retrieved, so asyncio does not log it
