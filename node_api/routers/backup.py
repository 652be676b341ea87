"""Backups of one graph: create (a background task), list, restore (a background task)."""

from __future__ import annotations

from fastapi import APIRouter, status
from starlette.responses import Response

from node_api.core.jsonenc import dumps
from node_api.core.tasks import Task
from node_api.deps import WRITES_TO_DISK, BackupsDep, GraphIdDep
from node_api.models.backup import BackupListResponse, BackupRequest, BackupSummary, RestoreRequest
from node_api.models.tables import TaskAccepted

router = APIRouter(tags=["backup"])


def _accepted(task: Task) -> Response:
    body = TaskAccepted(
        task_id=task.task_id, status=task.status.value, graph_id=task.graph_id, kind=task.kind,
        status_url=f"/tasks/{task.task_id}/status", monitor_url=f"/tasks/{task.task_id}/monitor",
    )
    return Response(dumps(body.model_dump()), status_code=status.HTTP_202_ACCEPTED, media_type="application/json")


@router.post(
    "/databases/{graph_id}/backup", dependencies=WRITES_TO_DISK, status_code=status.HTTP_202_ACCEPTED, response_model=TaskAccepted,
    name="backup_database",
    summary="Back up a graph: consistent, compressed, checksummed (monitor via /tasks/{task_id}/monitor)",
)
async def backup_database(graph_id: GraphIdDep, operations: BackupsDep, body: BackupRequest | None = None) -> Response:
    request = body or BackupRequest()
    task = await operations.start_backup(graph_id, request.destination, request.format)
    return _accepted(task)


@router.get("/databases/{graph_id}/backups", response_model=BackupListResponse, name="list_backups")
async def list_backups(graph_id: GraphIdDep, operations: BackupsDep) -> BackupListResponse:
    backups = [s for m in await operations.list_backups(graph_id) if (s := BackupSummary.parse(m)) is not None]
    return BackupListResponse(graph_id=graph_id, backups=backups, total=len(backups))


@router.post(
    "/databases/{graph_id}/restore", dependencies=WRITES_TO_DISK, status_code=status.HTTP_202_ACCEPTED, response_model=TaskAccepted,
    name="restore_database",
    summary="Restore one of this graph's backups, into itself or a new graph (a background task)",
)
async def restore_database(graph_id: GraphIdDep, body: RestoreRequest, operations: BackupsDep) -> Response:
    task = await operations.start_restore(graph_id, body.location, body.target_graph_id)
    return _accepted(task)
