"""S3 bulk copy: Parquet files straight into a graph table, as a background task (202 + task id)."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from starlette.responses import Response

from node_api.deps import WRITES_TO_DISK, GraphIdDep, StagingDep
from node_api.models.tables import CopyRequest, TaskAccepted
from node_api.routers.tables import accepted, credentials_of

router = APIRouter(tags=["ingestion"])


@router.post(
    "/databases/{graph_id}/copy", dependencies=WRITES_TO_DISK,
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TaskAccepted,
    name="s3_copy",
    summary="Copy Parquet files from S3 into a graph table (monitor via /tasks/{task_id}/monitor)",
)
async def s3_copy(graph_id: GraphIdDep, body: CopyRequest, request: Request, staging: StagingDep) -> Response:
    task = await staging.start_copy(
        graph_id,
        body.table_name,
        body.s3_pattern,
        ignore_errors=body.ignore_errors,
        credentials=credentials_of(body.s3_credentials),
    )
    return accepted(request, task)
