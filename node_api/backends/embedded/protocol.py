"""The wire between the node and its engine workers, over Unix socket pairs.

Control socket (SOCK_SEQPACKET, one per worker): one packet per message, so message boundaries
hold and a new channel's socket travels with its message (SCM_RIGHTS).
Channel sockets (SOCK_STREAM, one per pooled connection): length-prefixed frames.

    message = header frame, then `header["n"]` blob frames
    frame   = 4-byte big-endian length, then that many bytes (at most MAX_FRAME)

Headers from the node to a worker are pickled: the node is trusted, and query parameters keep their
Python types (ints of any width, datetimes, Decimals, bytes). Headers from a worker to the node are
JSON: a worker runs tenant statements inside an engine that can be corrupted by them, so nothing it
sends is ever unpickled. Blobs are opaque bytes: result rows already encoded as a JSON array, Arrow
IPC streams, plan text.

Both ends are here: blocking functions for the worker's threads, asyncio ones for the node.
"""

from __future__ import annotations

import asyncio
import pickle
import socket
import struct
from collections.abc import Sequence
from typing import Any

import orjson

_LENGTH = struct.Struct("!I")
MAX_FRAME = 1 << 31  # 2 GiB: one Arrow batch or row chunk never comes close
CONTROL_PACKET = 1 << 16  # control messages are small: open, channel, interrupt, shutdown


class ProtocolError(Exception):
    """The peer sent something that is not a message (or closed the socket mid-message)."""


class PeerClosed(ProtocolError):
    """The peer closed its end: for the node, the worker is gone."""


# ---- blocking side (the worker)

def _recv_exact(sock: socket.socket, size: int) -> bytearray:
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:], size - got)
        if n == 0:
            raise PeerClosed("peer closed the socket")
        got += n
    return buf


def _recv_frame(sock: socket.socket) -> bytearray:
    (size,) = _LENGTH.unpack(_recv_exact(sock, _LENGTH.size))
    if size > MAX_FRAME:
        raise ProtocolError(f"frame of {size} bytes")
    return _recv_exact(sock, size)


def recv_from_node(sock: socket.socket) -> tuple[dict[str, Any], list[bytearray]]:
    header = pickle.loads(_recv_frame(sock))  # noqa: S301 - the node is the trusted end
    return header, [_recv_frame(sock) for _ in range(header.get("n", 0))]


def send_to_node(sock: socket.socket, header: dict[str, Any], blobs: Sequence[bytes] = ()) -> None:
    head = orjson.dumps({**header, "n": len(blobs)})
    if not blobs:
        sock.sendall(_LENGTH.pack(len(head)) + head)
        return
    sock.sendall(_LENGTH.pack(len(head)) + head + _LENGTH.pack(len(blobs[0])))
    for i, blob in enumerate(blobs):
        if i:
            sock.sendall(_LENGTH.pack(len(blob)))
        sock.sendall(blob)  # no copy of a large chunk into one buffer


def recv_control(sock: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """One control packet from the node, with the descriptors passed alongside it (SCM_RIGHTS)."""
    data, fds, _flags, _addr = socket.recv_fds(sock, CONTROL_PACKET, 4)
    if not data:
        raise PeerClosed("the node closed the control socket")
    return pickle.loads(data), list(fds)  # noqa: S301 - the node is the trusted end


def send_control_reply(sock: socket.socket, header: dict[str, Any]) -> None:
    sock.send(orjson.dumps(header))


# ---- asyncio side (the node)

def encode_for_worker(header: dict[str, Any], blobs: Sequence[bytes | memoryview] = ()) -> list[bytes | memoryview]:
    parts = [pickle.dumps({**header, "n": len(blobs)}, protocol=5), *blobs]
    return [piece for part in parts for piece in (_LENGTH.pack(memoryview(part).nbytes), part)]


async def read_from_worker(reader: asyncio.StreamReader) -> tuple[dict[str, Any], list[bytes]]:
    header = orjson.loads(await _read_frame(reader))
    if not isinstance(header, dict):
        raise ProtocolError("a worker header is not an object")
    return header, [await _read_frame(reader) for _ in range(int(header.get("n", 0)))]


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    try:
        (size,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
        if size > MAX_FRAME:
            raise ProtocolError(f"frame of {size} bytes")
        return await reader.readexactly(size)
    except asyncio.IncompleteReadError as exc:
        raise PeerClosed("the worker closed the socket") from exc
    except ConnectionError as exc:
        raise PeerClosed(str(exc)) from exc


def control_packet(header: dict[str, Any]) -> bytes:
    packet = pickle.dumps(header, protocol=5)
    if len(packet) > CONTROL_PACKET:
        raise ProtocolError("control message too large")
    return packet
