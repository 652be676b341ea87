"""Events of the volume manager Lambda. `request_id` (optional) makes a call idempotent through the
Powertools idempotency table: a retry with the same id returns the first result without side effects."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.registry import GraphId, Tier

VolumeId = Annotated[str, Field(pattern=r"^vol-[0-9a-f]{8,17}$")]
SnapshotId = Annotated[str, Field(pattern=r"^snap-[0-9a-f]{8,17}$")]
InstanceId = Annotated[str, Field(pattern=r"^i-[0-9a-f]{8,17}$")]
Device = Annotated[str, Field(pattern=r"^/dev/(sd|xvd)[f-p]$")]
AvailabilityZone = Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d[a-z]$")]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: str | None = Field(None, min_length=1, max_length=128)


class CreateVolume(_Event):
    action: Literal["create"]
    database_id: GraphId
    tier: Tier = "standard"
    size_gb: int = Field(100, ge=1, le=16384)
    availability_zone: AvailabilityZone


class AttachVolume(_Event):
    action: Literal["attach"]
    volume_id: VolumeId
    instance_id: InstanceId
    device: Device | None = None


class DetachVolume(_Event):
    action: Literal["detach"]
    volume_id: VolumeId
    force: bool = False


class SnapshotVolume(_Event):
    action: Literal["snapshot"]
    volume_id: VolumeId


class RestoreVolume(_Event):
    action: Literal["restore"]
    snapshot_id: SnapshotId
    database_id: GraphId
    tier: Tier = "standard"
    availability_zone: AvailabilityZone
    size_gb: int | None = Field(None, ge=1, le=16384)


class AdoptVolume(_Event):
    """A node booting in `availability_zone` takes over a dead node's data volume of its tier, if any."""

    action: Literal["adopt"]
    instance_id: InstanceId
    availability_zone: AvailabilityZone
    tier: Tier = "standard"
    device: Device | None = None


VolumeEvent = Annotated[
    CreateVolume | AttachVolume | DetachVolume | SnapshotVolume | RestoreVolume | AdoptVolume,
    Field(discriminator="action"),
]
