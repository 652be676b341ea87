"""The schema of one graph: read it, or apply DDL (all statements in one transaction)."""

from __future__ import annotations

import time

from fastapi import APIRouter

from node_api.deps import WRITES_TO_DISK, GraphIdDep, NodeDep
from node_api.models.schema import ApplyDdlRequest, ApplyDdlResponse, SchemaResponse
from node_api.schemas import parse_ddl

router = APIRouter(tags=["schema"])


@router.get("/databases/{graph_id}/schema", response_model=SchemaResponse, name="get_schema")
async def get_schema(graph_id: GraphIdDep, node: NodeDep) -> SchemaResponse:
    async with node.admission.admit():
        return SchemaResponse.of(graph_id, await node.backend.schema(graph_id))


@router.post("/databases/{graph_id}/schema", dependencies=WRITES_TO_DISK, response_model=ApplyDdlResponse, name="apply_schema")
async def apply_schema(graph_id: GraphIdDep, body: ApplyDdlRequest, node: NodeDep) -> ApplyDdlResponse:
    started = time.perf_counter()
    statements = parse_ddl(body.ddl)  # InvalidSchema (400) before the database is touched
    async with node.admission.admit():
        await node.backend.apply_ddl(graph_id, statements)
        schema = await node.backend.schema(graph_id)
    current = SchemaResponse.of(graph_id, schema)
    return ApplyDdlResponse(**current.model_dump(), statements_applied=len(statements),
                            execution_time_ms=round((time.perf_counter() - started) * 1000, 2))
