"""Background tasks: status, list, and a Server-Sent Events monitor.

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
from node_api.core.staging.service import StagingDep
from node_api.core.tasks import TaskStatus
from node_api.models.tasks import TaskListResponse, TaskModel
from node_api.security.paths import validate_graph_id

router = APIRouter(tags=["tasks"])

_FINAL_EVENT = {TaskStatus.SUCCEEDED: "completed", TaskStatus.FAILED: "failed"}


@router.get("/tasks", response_model=TaskListResponse, name="list_tasks")
async def list_tasks(
    staging: StagingDep,
    graph_id: Annotated[str | None, Query(description="Only this database's tasks.")] = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> TaskListResponse:
    if graph_id is not None:
        validate_graph_id(graph_id)
    tasks = staging.tasks.list(graph_id=graph_id, kind=kind, limit=limit)
    return TaskListResponse(tasks=[TaskModel.of(t) for t in tasks], total=len(tasks))


@router.get("/tasks/{task_id}/status", response_model=TaskModel, name="task_status")
async def task_status(task_id: str, staging: StagingDep) -> TaskModel:
    return TaskModel.of(staging.tasks.get(task_id))


@router.get(
    "/tasks/{task_id}/monitor",
    name="task_monitor",
    responses={200: {"content": {"text/event-stream": {}}}},
    summary="Server-Sent Events: progress, rows done, then the final result or error",
)
async def task_monitor(task_id: str, request: Request, staging: StagingDep) -> EventSourceResponse:
    staging.tasks.get(task_id)  # 404 before the stream starts

    async def events() -> AsyncIterator[ServerSentEvent]:
        async for task in staging.tasks.watch(task_id):
            body = dumps(TaskModel.of(task).model_dump(mode="json")).decode()
            event = _FINAL_EVENT.get(task.status, "progress")
            yield ServerSentEvent(data=body, event=event, id=str(task.version))
            if await request.is_disconnected():
                return

    return EventSourceResponse(events(), ping=15)
