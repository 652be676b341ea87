"""What create_app (node_api/app.py) adds for staging, ingestion and tasks:

    hooks = [..., staging_service, operations_service]  # manager + the node's task registry
    install_staging(app)                                 # routers + error mapping

staging_service comes before operations_service so backup/restore find the registry
(node.services["tasks"]) and it closes after them.

Exception handlers must be registered before the app serves its first message (Starlette builds
its middleware stack then), so this runs in create_app, not in the lifespan hook.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from starlette.responses import Response

from node_api.core.staging.errors import StagingError
from node_api.core.staging.service import staging_service
from node_api.errors import error_response
from node_api.routers import copy, tables, tasks
from node_api.security.auth import require_api_key

__all__ = ["install_staging", "staging_service"]


def install_staging(app: FastAPI) -> None:
    secured = [Depends(require_api_key)]
    for module in (tables, copy, tasks):
        app.include_router(module.router, dependencies=secured)

    @app.exception_handler(StagingError)
    async def _staging_error(request: Request, exc: StagingError) -> Response:
        return error_response(request, exc.status_code, exc.code, exc.message, exc.details)
