"""An engine worker: one process per open database, the only place an engine runs.

    python -m node_api.backends.embedded.worker --engine kuzu --control-fd N

The node starts it with one end of a socket pair (the control socket) and sends `open`. Then:
- each `channel` control message carries a new socket (SCM_RIGHTS); a thread serves it with its own
  engine connection, one request at a time (a pooled connection, on the node's side);
- `interrupt` interrupts the connection of one channel (the engine checks the flag between
  morsels, which may take long: the node kills the worker if it does not stop in time);
- `shutdown`, or the control socket closing, ends the process.

Whatever a tenant's statement does to the engine (segfault, abort, memory blow-up) ends this process
only: the node answers the requests it was serving and reopens the database on the next request.
The worker dies with the node (PR_SET_PDEATHSIG), so a killed node never leaves an engine holding a
database's files.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib
import os
import signal
import socket
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from node_api.backends.embedded import engine_ops, portable, sandbox
from node_api.backends.embedded.protocol import (
    PeerClosed,
    recv_control,
    recv_from_node,
    send_control_reply,
    send_to_node,
)
from node_api.core.memory import release_free_memory

_PR_SET_PDEATHSIG = 1
# A connection that saw one of these is closed instead of serving again: after a failed BEGIN
# ("Cannot start a new write transaction") Kuzu 0.11.3 and LadybugDB 0.22.0 both segfault on the
# connection's next query (docs/engine-facts.md).
_DISCARD_MARKERS = ("transaction", "Transaction", "Interrupted", "Connection exception", "Buffer manager")
_TRIM_AFTER_BYTES = 64 << 20  # give freed heap back after a result this large (glibc keeps it)


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the control socket's EOF still ends the worker
        pass
    if os.getppid() == 1:  # the node died before prctl took effect
        os._exit(0)


class ChannelServer(threading.Thread):
    """One channel: one engine connection serving the node's requests in order."""

    def __init__(self, engine: Any, database: Any, sock: socket.socket, channel_id: int,
                 property_types: engine_ops.PropertyTypes) -> None:
        super().__init__(name=f"channel-{channel_id}", daemon=True)
        self.sock = sock
        self.property_types = property_types
        self.conn = engine.Connection(database)
        self.result: engine_ops.OpenResult | None = None
        self._closed = threading.Lock()  # held once the connection is closed: no interrupt after that
        self._open = True

    def interrupt(self) -> None:
        with self._closed:
            if self._open:
                self.conn.interrupt()

    def run(self) -> None:
        try:
            while True:
                header, blobs = recv_from_node(self.sock)
                try:
                    reply, out = self.handle(header, blobs)
                except Exception as exc:  # noqa: BLE001 - every engine error goes back to the node
                    self._close_result()
                    message = str(exc) or type(exc).__name__
                    discard = not isinstance(exc, RuntimeError) or any(m in message for m in _DISCARD_MARKERS)
                    send_to_node(self.sock, {"ok": False, "error": {"type": type(exc).__name__,
                                                                    "message": message}, "discard": discard})
                    if discard:
                        return
                    continue
                send_to_node(self.sock, {"ok": True, **reply}, out)
                if header["op"] == "bye":
                    return
        except (PeerClosed, OSError):
            return
        finally:
            self._close_result()
            with self._closed:
                self._open = False
                self.conn.close()
            self.sock.close()

    def _close_result(self) -> None:
        if self.result is not None:
            self.result.close()
            self.result = None

    def handle(self, header: dict[str, Any], blobs: list[bytearray]) -> tuple[dict[str, Any], list[bytes]]:
        op = header["op"]
        conn = self.conn
        if op == "query":
            self._close_result()
            conn.set_query_timeout(max(1, int(header["timeout_ms"])))
            if header.get("writes"):
                self.property_types.forget()  # a write may be DDL: the catalog is read again
            result = engine_ops.OpenResult(conn.execute(header["statement"], header.get("parameters") or {}),
                                           self.property_types.reader(conn))
            self.result = result
            reply, out = self._chunk(header["max_rows"])
            return {"columns": result.columns, "types": result.types, **reply}, out
        if op == "fetch":
            if self.result is None:
                return {"rows": 0, "done": True}, [b"[]"]
            return self._chunk(header["max_rows"])
        if op == "close":
            self._close_result()
            return {}, []
        if op == "plan":
            return {}, [engine_ops.plan(conn, header["statement"], header.get("parameters") or {}).encode()]
        if op == "script":
            self.property_types.forget()
            engine_ops.run_script(conn, header["statements"], transaction=header.get("transaction", True))
            return {}, []
        if op == "schema":
            return {"schema": engine_ops.read_schema(conn)}, []
        if op == "describe":
            schema = engine_ops.read_schema(conn)
            return {"schema": schema, "row_counts": engine_ops.row_counts(conn, schema)}, []
        if op == "copy":
            import pyarrow as pa  # only workers that load data pay for pyarrow

            data = pa.ipc.open_stream(pa.py_buffer(blobs[0])).read_all()
            loaded, warnings = engine_ops.copy_arrow(conn, header["table"], data, ignore_errors=header["ignore_errors"])
            return {"loaded": loaded, "warnings": warnings}, []
        if op == "export_portable":
            self.property_types.forget()
            return {"export": portable.export(conn, Path(header["directory"]), Path(header["scratch"]))}, []
        if op == "ddl":
            return {"ddl": portable.schema_only(conn, Path(header["scratch"]))}, []
        if op == "bye":
            return {}, []
        raise ValueError(f"unknown operation {op!r}")

    def _chunk(self, max_rows: int) -> tuple[dict[str, Any], list[bytes]]:
        assert self.result is not None
        data, count, done = self.result.chunk(max_rows)
        if done:
            self._close_result()
            if len(data) > _TRIM_AFTER_BYTES:
                release_free_memory()
        return {"rows": count, "done": done}, [data]


def load_extensions(engine: Any, database: Any, files: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """`LOAD EXTENSION '<file>'` for each {name: file} (the node lists only reviewed extensions); an
    extension is loaded per Database, before any channel serves. Returns (loaded names, {name: error})."""
    loaded: list[str] = []
    failed: dict[str, str] = {}
    if not files:
        return loaded, failed
    conn = engine.Connection(database)
    try:
        for name, path in sorted(files.items()):
            try:
                conn.execute(f"LOAD EXTENSION {engine_ops.string_literal(path)}").close()
                loaded.append(name)
            except RuntimeError as exc:
                failed[name] = str(exc)
    finally:
        conn.close()
    return loaded, failed


def serve(engine_name: str, control: socket.socket) -> None:
    engine = importlib.import_module(engine_name)  # before `open`: a spare worker has paid for it
    header, _fds = recv_control(control)
    if header["op"] == "shutdown":  # a spare that was never used
        return
    assert header["op"] == "open", header
    # Confined before the database opens: from here on the engine reaches only its own directory.
    confinement = sandbox.confine([Path(p) for p in header["read_write"]],
                                  [*sandbox.code_paths(), *(Path(p) for p in header.get("read_only", []))])
    try:
        database = engine.Database(
            header["path"],
            buffer_pool_size=header["buffer_pool_bytes"],
            max_num_threads=header["threads"],
            max_db_size=header["max_db_size_bytes"],
        )
    except Exception as exc:  # noqa: BLE001 - reported to the node, which answers for it
        send_control_reply(control, {"ok": False, "error": {"type": type(exc).__name__, "message": str(exc)}})
        return
    loaded, failed = load_extensions(engine, database, header.get("extensions") or {})
    send_control_reply(control, {"ok": True, "pid": os.getpid(), "sandbox": confinement,
                                 "engine_version": str(engine.__version__),
                                 "storage_version": int(engine.Database.get_storage_version()),
                                 "extensions": {"loaded": loaded, "failed": failed}})
    channels: dict[int, ChannelServer] = {}
    property_types = engine_ops.PropertyTypes()
    try:
        while True:
            header, fds = recv_control(control)
            op = header["op"]
            if op == "channel":
                server = ChannelServer(engine, database, socket.socket(fileno=fds[0]), header["id"], property_types)
                channels[header["id"]] = server
                server.start()
            elif op == "interrupt":
                running = channels.get(header["id"])
                if running is not None and running.is_alive():
                    running.interrupt()
            elif op == "shutdown":
                break
            for cid in [cid for cid, s in channels.items() if not s.is_alive()]:
                del channels[cid]
    except PeerClosed:
        pass
    # An orderly close checkpoints the WAL into the database file. Channels still running a query
    # are interrupted first; a worker that cannot stop is killed by the node.
    for server in channels.values():
        server.interrupt()
    for server in channels.values():
        server.join(timeout=5)
    if any(server.is_alive() for server in channels.values()):
        os._exit(3)
    database.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", required=True)
    parser.add_argument("--control-fd", type=int, required=True)
    args = parser.parse_args(argv)
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the node decides when a worker stops
    control = socket.socket(fileno=args.control_fd)
    try:
        serve(args.engine, control)
    except Exception:  # noqa: BLE001 - the node logs what reaches stderr
        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()
        os._exit(2)
    sys.stdout.flush()
    os._exit(0)  # no interpreter teardown: engine destructors already ran in database.close()


if __name__ == "__main__":
    main()
