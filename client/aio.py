"""`AsyncGraphClient`: the asyncio transport. The endpoints themselves are in client/endpoints.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
from httpx_sse import EventSource
from tenacity import AsyncRetrying

from client.calls import Call
from client.endpoints import GraphApi
from client.exceptions import NodeUnreachableError
from client.models import Task
from client.streams import AsyncRowStream, TaskFollower, finished

R = TypeVar("R")


class AsyncGraphClient(GraphApi):
    """asyncio client of one node: `async with AsyncGraphClient(url, api_key) as c: await c.query(...)`."""

    def __init__(self, base_url: str | None = None, api_key: str | None = None, **kwargs: Any) -> None:
        super().__init__(base_url, api_key, **kwargs)
        self._http = httpx.AsyncClient(**self._http_kwargs())

    async def __aenter__(self) -> AsyncGraphClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- transport -----------------------------------------------------------------------------------
    async def _attempt(self, call: Call[Any], request_id: str) -> httpx.Response:
        with self._guard():
            try:
                response = await self._http.send(self._build(self._http, call, request_id), stream=True)
            except httpx.TransportError as exc:
                raise self._unreachable(exc) from exc
            if call.streamed and response.is_success:
                return response  # a stream: the caller reads and closes it
            try:
                await response.aread()
            except httpx.TransportError as exc:
                raise self._unreachable(exc) from exc
            finally:
                await response.aclose()
            if not self._is_answer(call, response):
                self._raise_error(response)
            return response

    async def _send(self, call: Call[Any]) -> httpx.Response:
        request_id = self._request_id()
        retrying = AsyncRetrying(**self.retry_policy.tenacity_kwargs(call.idempotent, retry_writes=call.retry_writes))
        async for attempt in retrying:
            with attempt:
                return await self._attempt(call, request_id)
        raise AssertionError("unreachable: tenacity reraises the last error")

    async def _execute(self, call: Call[R]) -> R:
        return call.parse(await self._send(call))

    @asynccontextmanager
    async def _open(self, call: Call[Any]) -> AsyncIterator[httpx.Response]:
        response = await self._send(call)
        try:
            yield response
        finally:
            await response.aclose()

    def _stream_rows(self, call: Call[Any]) -> AsyncRowStream:
        return AsyncRowStream(lambda: self._open(call))

    # --- tasks ---------------------------------------------------------------------------------------
    async def monitor_task(
        self, task_id: str, timeout: float | None = None  # noqa: ASYNC109 - same signature as the sync client
    ) -> AsyncIterator[Task]:
        """Each state of the task as the node reports it (SSE), ending with the final one."""
        follower = TaskFollower(timeout, self.config.max_attempts)
        while True:
            try:
                async with self._open(self._monitor_call(task_id, follower.read_timeout())) as response:
                    async for event in EventSource(response).aiter_sse():
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

    async def wait_task(
        self, task_id: str, timeout: float | None = None  # noqa: ASYNC109 - same signature as the sync client
    ) -> Task:
        """The finished task; TaskFailedError if it failed, WaitTimeoutError after `timeout` seconds."""
        async for task in self.monitor_task(task_id, timeout):
            if task.done:
                return finished(task)
        raise AssertionError("unreachable: monitor_task ends with a finished task")
