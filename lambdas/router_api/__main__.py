"""`python -m lambdas.router_api --host 127.0.0.1 --port 8100`: the router API under uvicorn (the local
cluster runs it so; settings from the environment, SigV4 checked by the app: ROUTER_AUTH_MODE=sigv4)."""

from __future__ import annotations

import argparse

import uvicorn

from lambdas.router_api.app import create_app
from lambdas.router_api.settings import RouterSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args()
    uvicorn.run(create_app(RouterSettings()), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
