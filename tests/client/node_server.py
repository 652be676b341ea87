"""`python -m tests.client.node_server`: `python -m node_api serve` plus staging, ingestion and tasks,
for as long as app.py does not wire them itself (then it is the same app)."""

from __future__ import annotations

import argparse

import uvicorn

from node_api.app import create_app
from node_api.settings import NodeSettings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-path", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = NodeSettings(base_path=args.base_path, port=args.port, host="127.0.0.1")
    uvicorn.run(create_app(settings), host="127.0.0.1", port=args.port, log_level="warning",
                timeout_graceful_shutdown=2)


if __name__ == "__main__":
    main()
