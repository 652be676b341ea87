"""Lambda entry point: the router API behind a function URL, through Mangum (payload format 2.0,
the same shape an API Gateway HTTP API sends). The app is built once per container."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from mangum import Mangum

from lambdas.common.observability import make_logger, make_metrics
from lambdas.router_api.app import create_app
from lambdas.router_api.settings import get_router_settings

logger = make_logger("router-api")
metrics = make_metrics("router-api")


@lru_cache(maxsize=1)
def asgi_handler() -> Mangum:
    """Tests call `asgi_handler.cache_clear()` (with get_router_settings') after changing settings."""
    return Mangum(create_app(get_router_settings(), metrics=metrics), lifespan="off")


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # mangum's LambdaContext Protocol declares settable attributes where powertools' has read-only
    # properties; the runtime's context object is both.
    return asgi_handler()(event, context)  # type: ignore[arg-type]
