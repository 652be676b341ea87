"""What create_app (node_api/app.py) adds for staging, ingestion and tasks:

    hooks = [..., staging_service, operations_service]  # manager + the node's task registry
    install_staging(app)                                 # routers + error mapping

staging_service comes before operations_service so backup/restore find the registry
(node.services["tasks"]) and it closes after them.

Exception handlers must be registered before the app serves its first message (Starlette builds
its middleware stack then), so this runs in create_app, not in the lifespan hook.
"""

from __future__ import annotations

from fastapi import FastAPI

from node_api.core.staging.errors import StagingError
from node_api.core.staging.service import staging_service
from node_api.routers import copy, install_feature, tables, tasks

__all__ = ["install_staging", "staging_service"]


def install_staging(app: FastAPI) -> None:
    install_feature(app, (tables, copy, tasks), StagingError)
