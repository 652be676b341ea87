"""`GraphClient`: the blocking transport. The endpoints themselves are in client/endpoints.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
from httpx_sse import EventSource
from tenacity import Retrying

from client.calls import Call
from client.endpoints import GraphApi
from client.exceptions import NodeUnreachableError
from client.models import Task
from client.streams import RowStream, TaskFollower, finished

R = TypeVar("R")


class GraphClient(GraphApi):
    """Blocking client of one node: `with GraphClient(url, api_key) as c: c.query(...)`."""

    def __init__(self, base_url: str | None = None, api_key: str | None = None, **kwargs: Any) -> None:
        super().__init__(base_url, api_key, **kwargs)
        self._http = httpx.Client(**self._http_kwargs())

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- transport -----------------------------------------------------------------------------------
    def _attempt(self, call: Call[Any], request_id: str) -> httpx.Response:
        with self._guard():
            try:
                response = self._http.send(self._build(self._http, call, request_id), stream=True)
            except httpx.TransportError as exc:
                raise self._unreachable(exc) from exc
            if call.streamed and response.is_success:
                return response  # a stream: the caller reads and closes it
            try:
                response.read()
            except httpx.TransportError as exc:
                raise self._unreachable(exc) from exc
            finally:
                response.close()
            if not self._is_answer(call, response):
                self._raise_error(response)
            return response

    def _send(self, call: Call[Any]) -> httpx.Response:
        request_id = self._request_id()
        retrying = Retrying(**self.retry_policy.tenacity_kwargs(call.idempotent, retry_writes=call.retry_writes))
        for attempt in retrying:
            with attempt:
                return self._attempt(call, request_id)
        raise AssertionError("unreachable: tenacity reraises the last error")

    def _execute(self, call: Call[R]) -> R:
        return call.parse(self._send(call))

    @contextmanager
    def _open(self, call: Call[Any]) -> Iterator[httpx.Response]:
        response = self._send(call)
        try:
            yield response
        finally:
            response.close()

    def _stream_rows(self, call: Call[Any]) -> RowStream:
        return RowStream(lambda: self._open(call))

    # --- tasks ---------------------------------------------------------------------------------------
    def monitor_task(self, task_id: str, timeout: float | None = None) -> Iterator[Task]:
        """Each state of the task as the node reports it (SSE), ending with the final one."""
        follower = TaskFollower(timeout, self.config.max_attempts)
        while True:
            try:
                with self._open(self._monitor_call(task_id, follower.read_timeout())) as response:
                    for event in EventSource(response).iter_sse():
                        task = follower.on_event(event)
                        if task is not None:
                            yield task
                            if task.done:
                                return
            except NodeUnreachableError as exc:  # could not reopen, after the retry policy's attempts
                follower.on_unreachable(exc)
            except httpx.TransportError as exc:  # the open stream broke
                follower.on_cut(exc)
                continue
            follower.on_cut(None)

    def wait_task(self, task_id: str, timeout: float | None = None) -> Task:
        """The finished task; TaskFailedError if it failed, WaitTimeoutError after `timeout` seconds."""
        for task in self.monitor_task(task_id, timeout):
            if task.done:
                return finished(task)
        raise AssertionError("unreachable: monitor_task ends with a finished task")
