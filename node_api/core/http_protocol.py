"""uvicorn's httptools protocol with the limits it lacks: header size, header time, body time.

A client may not take longer than `header_timeout_s` to send a request's headers (slowloris), nor
send more than `max_header_bytes` before its headers are complete, nor take longer than
`body_timeout_s` plus its length at `min_body_rate` to send its body once the headers are in (a body that trickles in, or never
arrives, held a connection and a request slot for as long as the client liked: 2,047 such
connections locked every client out, /status/live included, found by attacking). uvicorn's own
timeout_keep_alive only runs between requests, and httptools has no size limit (a 2 MB header block
was read and served). Past any limit the connection gets a short error answer and is closed. The
body's size is not limited here: the BodyLimit middleware does that.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from node_api.errors import error_body


def _answer(status: int, reason: str, code: str, message: str) -> bytes:
    body = error_body(code, message)
    head = (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\nconnection: close\r\n"
            f"content-length: {len(body)}\r\n\r\n")
    return head.encode("ascii") + body


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    header_timeout_s: float = 5.0
    max_header_bytes: int = 64 * 1024
    body_timeout_s: float = 10.0
    min_body_rate: int = 64 * 1024  # bytes/s a body must arrive at beyond body_timeout_s
    max_body_bytes: int = 10 * 1024 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_headers = True
        self._header_bytes = 0
        self._parsed_bytes = 0
        self._header_limit_hit = False
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        super().connection_lost(exc)

    def _await_headers(self) -> None:
        self._in_headers = True
        self._header_bytes = 0
        self._parsed_bytes = 0
        self._stop_timer()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _stop_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _refuse(self, answer: bytes) -> None:
        self._stop_timer()
        if not self.transport.is_closing():
            self.transport.write(answer)
            self.transport.close()

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self._in_headers:
            self._refuse(_answer(408, "Request Timeout", "header_timeout",
                                 f"request headers not received within {self.header_timeout_s:g}s"))

    def _body_too_slow(self) -> None:
        self._header_timer = None
        cycle = getattr(self, "cycle", None)
        if cycle is not None and cycle.response_started:
            self.transport.close()  # the application already answers: just end the connection
            return
        self._refuse(_answer(408, "Request Timeout", "body_timeout",
                             f"request body not received within {self.body_timeout_s:g}s"))

    def _too_large(self) -> bytes:
        return _answer(431, "Request Header Fields Too Large", "headers_too_large",
                       f"request headers are larger than {self.max_header_bytes} bytes")

    def data_received(self, data: bytes) -> None:
        # Headers that never end: a chunk may also hold the start of the body, so parse it first and
        # refuse only if the headers are still incomplete past the limit (at most one read buffer
        # beyond it is ever held).
        if self._in_headers:
            self._header_bytes += len(data)
        super().data_received(data)
        if self._in_headers and self._header_bytes > self.max_header_bytes:
            self._refuse(self._too_large())

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        # Headers that arrive whole in one read are measured as the parser hands them over.
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count(self, size: int) -> None:
        self._parsed_bytes += size
        if self._parsed_bytes > self.max_header_bytes:
            self._header_limit_hit = True
            raise ValueError("request headers too large")  # httptools stops; send_400_response follows

    def send_400_response(self, msg: str) -> None:
        if self._header_limit_hit:
            self._refuse(self._too_large())
        else:
            super().send_400_response(msg)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._in_headers:  # a new request on a kept-alive connection: its headers are timed too
            self._await_headers()

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._stop_timer()
        super().on_headers_complete()
        # The same timer now waits for the body's end (a request without a body ends at once): as long
        # as the declared length takes at GRAPH_API_MIN_BODY_RATE, past GRAPH_API_BODY_TIMEOUT.
        declared = dict(self.headers).get(b"content-length", b"")
        size = int(declared) if declared.isdigit() else self.max_body_bytes
        self._header_timer = self.loop.call_later(self.body_timeout_s + size / self.min_body_rate,
                                                  self._body_too_slow)

    def on_message_complete(self) -> None:
        self._stop_timer()
        super().on_message_complete()
