"""Task status bodies (GET /tasks/{task_id}/status, GET /tasks)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

if TYPE_CHECKING:  # the client imports these wire models: no engine modules at run time
    from node_api.core.tasks import Task


class TaskModel(BaseModel):
    task_id: str
    kind: str
    graph_id: str | None
    status: str  # queued | running | succeeded | failed
    progress: float = Field(description="Percent.")
    phase: str | None = Field(None, description="What a running task is doing (staging, reading, loading...).")
    rows_done: int = Field(description="Rows of the current phase done (a finished task: of its last phase).")
    rows_total: int | None = Field(None, description="Rows of the current phase, when known.")
    rows_per_second: float | None = Field(
        None, description="Running: the current phase's rate; finished: rows_done over the whole run."
    )
    eta_seconds: float | None = Field(None, description="Rows left / rate, while both are known.")
    message: str | None = Field(None, description="Running tasks only.")
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    error_count: int = Field(0, description="Error records kept; GET /tasks/{task_id}/errors pages them.")
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
            phase=task.phase,
            rows_done=task.rows_done,
            rows_total=task.rows_total,
            rows_per_second=task.rows_per_second,
            eta_seconds=task.eta_seconds,
            message=task.message,
            result=task.result,
            error=task.error,
            error_count=task.error_count,
            created_at=task.created_at,
            started_at=task.started_at,
            finished_at=task.finished_at,
        )


class TaskListResponse(BaseModel):
    tasks: Sequence[TaskModel]  # Sequence: client/models.py narrows the item class
    total: int


class TaskErrorModel(BaseModel):
    """One error record of a task: what was refused or skipped, and where."""

    code: str  # schema_mismatch | not_parquet | parse_error | duplicate | insert_error ...
    message: str
    table: str | None = None
    file: str | None = None
    row: int | None = Field(None, description="Row number within the file (from 0), or within the staging table.")
    column: str | None = None
    value: str | None = None
    type: str | None = None


class TaskErrorsResponse(BaseModel):
    """One page of a task's errors (Neptune loader style: `page` from 1, `per_page` records)."""

    task_id: str
    total: int
    page: int
    per_page: int
    errors: list[TaskErrorModel]
