"""Background tasks of the node (staging, ingestion, copy, backup, restore): status, list, errors,
and a Server-Sent Events monitor. These routes read the node's task registry only.

The monitor sends `progress` events (the task's state) on every change, then one final `completed`
or `failed` event carrying the result or error, and closes. A stream that ends without one of those
was cut; reconnecting replays the current state at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sse_starlette.sse import EventSourceResponse, ServerSentEvent

from node_api.core.jsonenc import dumps
from node_api.core.tasks import TaskStatus
from node_api.deps import TasksDep
from node_api.models.tasks import TaskErrorModel, TaskErrorsResponse, TaskListResponse, TaskModel
from node_api.security.paths import validate_graph_id

router = APIRouter(tags=["tasks"])

_FINAL_EVENT = {TaskStatus.SUCCEEDED: "completed", TaskStatus.FAILED: "failed"}


@router.get("/tasks", response_model=TaskListResponse, name="list_tasks")
async def list_tasks(
    tasks: TasksDep,
    graph_id: Annotated[str | None, Query(description="Only this database's tasks.")] = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> TaskListResponse:
    if graph_id is not None:
        validate_graph_id(graph_id)
    listed = tasks.list(graph_id=graph_id, kind=kind, limit=limit)
    return TaskListResponse(tasks=[TaskModel.of(t) for t in listed], total=len(listed))


@router.get("/tasks/{task_id}/status", response_model=TaskModel, name="task_status")
async def task_status(task_id: str, tasks: TasksDep) -> TaskModel:
    return TaskModel.of(tasks.get(task_id))


@router.get(
    "/tasks/{task_id}/errors",
    response_model=TaskErrorsResponse,
    name="task_errors",
    summary="The task's error records (refused files, skipped rows), a page at a time",
)
async def task_errors(
    task_id: str,
    tasks: TasksDep,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> TaskErrorsResponse:
    found = tasks.errors(task_id, page=page, per_page=per_page)
    return TaskErrorsResponse(
        task_id=found.task_id,
        total=found.total,
        page=found.page,
        per_page=found.per_page,
        errors=[TaskErrorModel.model_validate(record) for record in found.errors],
    )


@router.get(
    "/tasks/{task_id}/monitor",
    name="task_monitor",
    responses={200: {"content": {"text/event-stream": {}}}},
    summary="Server-Sent Events: progress, rows done, rate and ETA, then the final result or error",
)
async def task_monitor(task_id: str, request: Request, tasks: TasksDep) -> EventSourceResponse:
    tasks.get(task_id)  # 404 before the stream starts

    async def events() -> AsyncIterator[ServerSentEvent]:
        async for task in tasks.watch(task_id):
            body = dumps(TaskModel.of(task).model_dump(mode="json")).decode()
            event = _FINAL_EVENT.get(task.status, "progress")
            yield ServerSentEvent(data=body, event=event, id=str(task.version))
            if await request.is_disconnected():
                return

    return EventSourceResponse(events(), ping=15)
