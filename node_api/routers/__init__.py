"""The node's routers, and how a feature (staging, operations) mounts its own."""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType

from fastapi import Depends, FastAPI, Request
from starlette.responses import Response

from node_api.backends.errors import BackendError
from node_api.errors import error_response
from node_api.security.auth import require_api_key


def install_feature(app: FastAPI, modules: Iterable[ModuleType], errors: type[BackendError]) -> None:
    """Each module's `router` behind the API key, and the feature's errors answered with the error
    body at their own status. Runs in create_app: Starlette fixes exception handlers at first use."""
    secured = [Depends(require_api_key)]
    for module in modules:
        app.include_router(module.router, dependencies=secured)

    @app.exception_handler(errors)
    async def _feature_error(request: Request, exc: BackendError) -> Response:
        return error_response(request, exc.status_code, exc.code, exc.message, exc.details)
