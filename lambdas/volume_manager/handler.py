"""Volume manager Lambda (also invoked by a node's UserData to attach its volume at boot).

Events (see docs/control-plane.md):
    {"action": "create", "database_id", "tier", "size_gb", "availability_zone", "request_id"?}
    {"action": "attach", "volume_id", "instance_id", "device"?, "request_id"?}
    {"action": "detach", "volume_id", "force"?, "request_id"?}
    {"action": "snapshot", "volume_id", "request_id"?}
    {"action": "restore", "snapshot_id", "database_id", "tier", "availability_zone", "size_gb"?, "request_id"?}
    {"action": "adopt", "instance_id", "availability_zone", "tier", "device"?, "request_id"?}
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.common.aws import Aws, get_aws
from lambdas.common.handler import ok_result, run_operation
from lambdas.common.observability import make_logger, make_metrics
from lambdas.volume_manager import service
from lambdas.volume_manager.models import (
    AdoptVolume,
    AttachVolume,
    CreateVolume,
    DetachVolume,
    RestoreVolume,
    SnapshotVolume,
    VolumeEvent,
)

logger = make_logger("volume-manager")
metrics = make_metrics("volume-manager")


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    aws = get_aws()
    operation = idempotent(aws, context)
    return run_operation(event, VolumeEvent, lambda request: operation(request=request), logger)


def idempotent(aws: Aws, context: LambdaContext | None) -> Any:
    """`dispatch` wrapped by Powertools idempotency, keyed on the event's request_id (when given).

    Built per invocation (cheap) because the table name comes from settings, not import time.
    """
    config = IdempotencyConfig(
        event_key_jmespath="request_id",
        raise_on_no_idempotency_key=False,
        expires_after_seconds=aws.settings.idempotency_ttl_s,
    )
    if context is not None:
        config.register_lambda_context(context)
    store = DynamoDBPersistenceLayer(
        table_name=aws.settings.idempotency_table, boto3_client=aws.client("dynamodb")
    )

    def run(request: Any) -> dict[str, Any]:
        return dispatch(request, aws)

    return idempotent_function(data_keyword_argument="request", persistence_store=store, config=config)(run)


def dispatch(request: Any, aws: Aws) -> dict[str, Any]:
    metrics.add_metric(name=f"Volume{request.action.capitalize()}", unit=MetricUnit.Count, value=1)
    if isinstance(request, CreateVolume):
        return ok_result("create", {"volume": service.create(aws, request).model_dump(mode="json")})
    if isinstance(request, AttachVolume):
        return ok_result("attach", {"volume": service.attach(aws, request).model_dump(mode="json")})
    if isinstance(request, DetachVolume):
        return ok_result("detach", {"volume": service.detach(aws, request).model_dump(mode="json")})
    if isinstance(request, SnapshotVolume):
        return ok_result("snapshot", service.snapshot(aws, request))
    if isinstance(request, AdoptVolume):
        volume, graphs = service.adopt(aws, request)
        return ok_result("adopt", {"volume": volume.model_dump(mode="json") if volume else None, "graphs": graphs})
    assert isinstance(request, RestoreVolume)
    return ok_result("restore", {"volume": service.restore(aws, request).model_dump(mode="json")})
