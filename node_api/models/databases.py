from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from node_api.security.paths import GRAPH_ID_PATTERN


class SchemaType(StrEnum):
    ENTITY = "entity"
    SHARED = "shared"
    CUSTOM = "custom"


class CreateDatabaseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    graph_id: str = Field(pattern=GRAPH_ID_PATTERN, examples=["kg1a2b3c4d5"])
    schema_type: SchemaType = SchemaType.ENTITY
    custom_ddl: str | None = Field(
        None, max_length=200_000,
        description="schema_type=custom only: CREATE NODE/REL TABLE statements separated by ';'. Omitted: "
                    "an empty graph, whose schema POST /databases/{graph_id}/schema then creates.",
    )

    @model_validator(mode="after")
    def _ddl_matches_type(self) -> CreateDatabaseRequest:
        if self.schema_type is not SchemaType.CUSTOM and self.custom_ddl:
            raise ValueError("custom_ddl is only accepted with schema_type 'custom'")
        return self


class DatabaseInfoModel(BaseModel):
    graph_id: str
    schema_type: str
    created_at: datetime
    is_open: bool
    size_bytes: int | None = None
    last_used_at: datetime | None = None


class CreateDatabaseResponse(BaseModel):
    status: str = "success"
    graph_id: str
    schema_type: str
    created_at: datetime
    execution_time_ms: float


class DatabaseListResponse(BaseModel):
    databases: Sequence[DatabaseInfoModel]  # Sequence: client/models.py narrows the item class
    total: int
    max_databases: int


class DeleteDatabaseResponse(BaseModel):
    status: str = "success"
    graph_id: str
    message: str
