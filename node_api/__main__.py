"""`python -m node_api`: run a writer node."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn

from node_api.settings import NodeSettings, NodeType

cli = typer.Typer(add_completion=False, help="Run a graph node API (Kuzu by default) on this machine.")


@cli.command()
def serve(
    base_path: Annotated[Path | None, typer.Option(help="Where databases live (KUZU_DATABASE_PATH).")] = None,
    node_type: Annotated[NodeType | None, typer.Option(help="writer or shared_master (KUZU_NODE_TYPE).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (KUZU_PORT).")] = None,
    host: Annotated[str | None, typer.Option(help="Address to bind (KUZU_HOST).")] = None,
    dev: Annotated[bool, typer.Option("--dev", help="Development mode: allows running without an API key.")] = False,
) -> None:
    """Start the node API. Every setting also reads its environment variable (see docs/configuration.md)."""
    overrides: dict[str, Any] = {k: v for k, v in {"base_path": base_path, "node_type": node_type, "port": port,
                                   "host": host}.items() if v is not None}
    if dev:
        overrides["dev_mode"] = True
    settings = NodeSettings(**overrides)  # CLI options win over environment variables

    from node_api.app import create_app
    from node_api.core.http_protocol import GuardedHttpToolsProtocol
    from node_api.core.logs import configure_logging

    configure_logging(level=settings.log_level, node_type=settings.node_type.value, tier=settings.tier,
                      instance_id=settings.instance_id)
    GuardedHttpToolsProtocol.header_timeout_s = settings.header_timeout_s
    GuardedHttpToolsProtocol.max_header_bytes = settings.max_header_bytes
    GuardedHttpToolsProtocol.body_timeout_s = settings.body_timeout_s
    GuardedHttpToolsProtocol.min_body_rate = settings.min_body_rate
    GuardedHttpToolsProtocol.max_body_bytes = settings.max_body_bytes
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None,
                access_log=False, timeout_graceful_shutdown=10, http=GuardedHttpToolsProtocol,
                # Past this many connections uvicorn itself answers 503; admission control acts long before.
                limit_concurrency=settings.max_connections)


if __name__ == "__main__":
    cli()
