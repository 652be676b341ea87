"""The four rotation steps, each safe to repeat: Secrets Manager retries a step that failed or timed
out, and may run the same step twice, so every step first checks whether its work is already done.

Versions follow the usual staging labels: the new key is written as AWSPENDING under the rotation's
ClientRequestToken; finishSecret moves AWSCURRENT to it and Secrets Manager relabels the old
version AWSPREVIOUS. Nodes accept both labels for a window, so clients holding either key keep working.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from contracts.api_keys import decode_secret, encode_secret, generate_api_key, is_valid_api_key
from lambdas.common.errors import Conflict, InvalidRequest
from lambdas.key_rotation.models import RotationEvent, RotationStep

logger = Logger(child=True)

CURRENT, PENDING = "AWSCURRENT", "AWSPENDING"


def rotate(secretsmanager: Any, event: RotationEvent) -> str:
    """Run one step; returns "done" or "already_done". Raises Conflict/InvalidRequest on bad state."""
    stages = _stages_of(secretsmanager, event)
    if CURRENT in stages:
        # finishSecret already happened for this token (a retry after success): nothing left to do.
        return "already_done"
    if PENDING not in stages:
        raise Conflict(f"version {event.token} is not staged AWSPENDING", secret_id=event.secret_id)
    step = {
        RotationStep.CREATE: create_secret,
        RotationStep.SET: set_secret,
        RotationStep.TEST: test_secret,
        RotationStep.FINISH: finish_secret,
    }[event.step]
    return step(secretsmanager, event)


def _stages_of(secretsmanager: Any, event: RotationEvent) -> list[str]:
    versions = secretsmanager.describe_secret(SecretId=event.secret_id).get("VersionIdsToStages", {})
    if event.token not in versions:
        raise InvalidRequest(f"secret has no version {event.token}", secret_id=event.secret_id)
    return versions[event.token]


def _pending_key(secretsmanager: Any, event: RotationEvent) -> str | None:
    try:
        value = secretsmanager.get_secret_value(
            SecretId=event.secret_id, VersionId=event.token, VersionStage=PENDING
        )
    except secretsmanager.exceptions.ResourceNotFoundException:
        return None  # the version exists (rotate_secret made it) but holds no value yet
    text = value.get("SecretString")
    return decode_secret(text) if text else None


def create_secret(secretsmanager: Any, event: RotationEvent) -> str:
    # Make sure the current secret exists and reads, before minting its successor.
    current = decode_secret(
        secretsmanager.get_secret_value(SecretId=event.secret_id, VersionStage=CURRENT)["SecretString"]
    )
    if _pending_key(secretsmanager, event) is not None:
        return "already_done"
    new_key = generate_api_key()
    while new_key == current:  # astronomically unlikely, but testSecret would refuse it
        new_key = generate_api_key()
    secretsmanager.put_secret_value(
        SecretId=event.secret_id,
        ClientRequestToken=event.token,
        SecretString=encode_secret(new_key),
        VersionStages=[PENDING],
    )
    logger.info("pending api key created", extra={"secret_id": event.secret_id, "version": event.token})
    return "done"


def set_secret(secretsmanager: Any, event: RotationEvent) -> str:
    # Nodes read the key from Secrets Manager themselves; there is no downstream system to update.
    return "done"


def test_secret(secretsmanager: Any, event: RotationEvent) -> str:
    pending = _pending_key(secretsmanager, event)
    if pending is None or not is_valid_api_key(pending):
        raise Conflict("pending api key is missing or malformed", secret_id=event.secret_id)
    return "done"


def finish_secret(secretsmanager: Any, event: RotationEvent) -> str:
    versions = secretsmanager.describe_secret(SecretId=event.secret_id)["VersionIdsToStages"]
    current_version = next((v for v, stages in versions.items() if CURRENT in stages), None)
    secretsmanager.update_secret_version_stage(
        SecretId=event.secret_id,
        VersionStage=CURRENT,
        MoveToVersionId=event.token,
        **({"RemoveFromVersionId": current_version} if current_version else {}),
    )
    # Leave no AWSPENDING label behind: a label left on the new version makes the next RotateSecret
    # refuse with "previous rotation still in progress" (moto enforces this too).
    secretsmanager.update_secret_version_stage(
        SecretId=event.secret_id, VersionStage=PENDING, RemoveFromVersionId=event.token
    )
    logger.info("api key rotated", extra={"secret_id": event.secret_id, "version": event.token})
    return "done"
