"""Database lifecycle: create, list, describe, delete."""

from __future__ import annotations

import time
from dataclasses import asdict

from fastapi import APIRouter, status

from node_api.deps import WRITES_TO_DISK, BackendDep, GraphIdDep, NodeDep
from node_api.models.databases import (
    CreateDatabaseRequest,
    CreateDatabaseResponse,
    DatabaseInfoModel,
    DatabaseListResponse,
    DeleteDatabaseResponse,
    SchemaType,
)
from node_api.schemas import base_schema, parse_ddl

router = APIRouter(tags=["databases"])


@router.post("/databases", dependencies=WRITES_TO_DISK, status_code=status.HTTP_201_CREATED, response_model=CreateDatabaseResponse,
             name="create_database")
async def create_database(body: CreateDatabaseRequest, node: NodeDep) -> CreateDatabaseResponse:
    started = time.perf_counter()
    backend = node.backend
    if body.schema_type is SchemaType.CUSTOM:
        # No DDL: an empty graph (as Neo4j's CREATE DATABASE gives); its schema comes later through
        # POST /databases/{graph_id}/schema. DDL given is checked, and must hold a statement.
        ddl = [] if body.custom_ddl is None else parse_ddl(body.custom_ddl)
    else:
        ddl = list(base_schema(backend.kind, body.schema_type.value))
    async with node.admission.admit():
        info = await backend.create_database(body.graph_id, body.schema_type.value, ddl)
    return CreateDatabaseResponse(
        graph_id=info.graph_id, schema_type=info.schema_type, created_at=info.created_at,
        execution_time_ms=round((time.perf_counter() - started) * 1000, 2),
    )


@router.get("/databases", response_model=DatabaseListResponse, name="list_databases")
async def list_databases(node: NodeDep) -> DatabaseListResponse:
    infos = await node.backend.list_databases()
    return DatabaseListResponse(
        databases=[DatabaseInfoModel(**asdict(i)) for i in infos], total=len(infos),
        max_databases=node.settings.max_databases,
    )


@router.get("/databases/{graph_id}", response_model=DatabaseInfoModel, name="get_database")
async def get_database(graph_id: GraphIdDep, backend: BackendDep) -> DatabaseInfoModel:
    return DatabaseInfoModel(**asdict(await backend.database_info(graph_id)))


@router.delete("/databases/{graph_id}", response_model=DeleteDatabaseResponse, name="delete_database")
async def delete_database(graph_id: GraphIdDep, backend: BackendDep) -> DeleteDatabaseResponse:
    await backend.delete_database(graph_id)
    return DeleteDatabaseResponse(graph_id=graph_id, message=f"database {graph_id} deleted")
