"""`python tests/staging/serve_node.py BASE_PATH PORT`: a real node process with staging wired in.

Used by the crash test (the process is SIGKILLed mid-task). Works whether or not node_api/app.py
wires staging itself yet.
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn

from node_api.app import create_app
from node_api.core.staging.wiring import install_staging, staging_service
from node_api.settings import NodeSettings


def main() -> None:
    base_path, port = Path(sys.argv[1]), int(sys.argv[2])
    settings = NodeSettings(base_path=base_path, port=port, memory_per_db_mb=512, max_db_size_gb=16)
    app = create_app(settings)
    if "/tasks/{task_id}/status" not in {getattr(r, "path", None) for r in app.routes}:
        app = create_app(settings, service_hooks=[staging_service])
        install_staging(app)
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
