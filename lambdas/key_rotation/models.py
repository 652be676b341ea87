"""The event Secrets Manager sends a rotation function."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class RotationStep(StrEnum):
    CREATE = "createSecret"
    SET = "setSecret"
    TEST = "testSecret"
    FINISH = "finishSecret"


class RotationEvent(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    secret_id: str = Field(alias="SecretId", min_length=1)
    token: str = Field(alias="ClientRequestToken", min_length=1)
    step: RotationStep = Field(alias="Step")
