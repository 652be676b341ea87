"""The shape every control-plane handler shares: parse the event into a pydantic model with the
Powertools parser, run the operation, and turn expected failures into a clear error result:

    {"ok": true, "action": ..., ...result fields}
    {"ok": false, "error": {"code": "invalid_request|not_found|conflict|no_capacity|unavailable",
                            "message": ..., "details": {...}}}

Unexpected exceptions propagate so Lambda records a failure (and retries async invocations).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parser import parse
from pydantic import BaseModel, ValidationError

from lambdas.common.errors import ControlPlaneError

M = TypeVar("M")


def error_result(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message, "details": details}}


def ok_result(action: str, payload: BaseModel | dict[str, Any] | None = None) -> dict[str, Any]:
    body = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else dict(payload or {})
    return {"ok": True, "action": action, **body}


def run_operation(
    event: Any,
    model: Any,
    operation: Callable[[Any], dict[str, Any]],
    logger: Logger,
) -> dict[str, Any]:
    """Parse `event` as `model` (a pydantic model or an annotated union), then run `operation`."""
    try:
        request = parse(event=event, model=model)
    except (ValidationError, ValueError, TypeError) as exc:
        logger.warning("malformed event", extra={"error": str(exc)})
        return error_result("invalid_request", "malformed event", errors=_errors(exc))
    try:
        return operation(request)
    except ControlPlaneError as exc:
        logger.warning("operation refused", extra={"code": exc.code, "reason": exc.message, **exc.details})
        return error_result(exc.code, exc.message, **exc.details)


def _errors(exc: Exception) -> list[dict[str, Any]] | str:
    cause = exc.__cause__ if not isinstance(exc, ValidationError) else exc
    if isinstance(cause, ValidationError):
        return [{"loc": list(e["loc"]), "msg": e["msg"]} for e in cause.errors(include_url=False)]
    return str(exc)
