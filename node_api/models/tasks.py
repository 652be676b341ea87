"""Task status bodies (GET /tasks/{task_id}/status, GET /tasks)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:  # the client imports these wire models: no engine modules at run time
    from node_api.core.tasks import Task


class TaskModel(BaseModel):
    task_id: str
    kind: str
    graph_id: str | None
    status: str  # queued | running | succeeded | failed
    progress: float
    rows_done: int
    message: str | None
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, task: Task) -> TaskModel:
        return cls(
            task_id=task.task_id,
            kind=task.kind,
            graph_id=task.graph_id,
            status=task.status.value,
            progress=round(task.progress, 2),
            rows_done=task.rows_done,
            message=task.message,
            result=task.result,
            error=task.error,
            created_at=task.created_at,
            started_at=task.started_at,
            finished_at=task.finished_at,
        )


class TaskListResponse(BaseModel):
    tasks: list[TaskModel]
    total: int
