"""Key rotation Lambda, invoked by Secrets Manager once per step:
    {"SecretId": "<arn>", "ClientRequestToken": "<version id>", "Step": "createSecret|setSecret|testSecret|finishSecret"}

Unlike the other handlers, a refused step *raises*: Secrets Manager only sees success or failure,
and a failure makes it stop the rotation (and retry), leaving AWSCURRENT untouched.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.common.aws import get_aws
from lambdas.common.handler import run_operation
from lambdas.common.observability import make_logger, make_metrics
from lambdas.key_rotation import service
from lambdas.key_rotation.models import RotationEvent, RotationStep


class RotationFailed(RuntimeError):
    pass


logger = make_logger("key-rotation")
metrics = make_metrics("key-rotation")


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    def step(request: RotationEvent) -> dict[str, Any]:
        outcome = service.rotate(get_aws().secretsmanager, request)
        if request.step == RotationStep.FINISH and outcome == "done":
            metrics.add_metric(name="ApiKeyRotations", unit=MetricUnit.Count, value=1)
        return {"ok": True, "action": str(request.step), "outcome": outcome}

    result = run_operation(event, RotationEvent, step, logger)
    if not result["ok"]:
        raise RotationFailed(f"{result['error']['code']}: {result['error']['message']}")
    return result
