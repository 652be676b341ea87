"""`graph-node` (= `python -m node_api`): run a node API on this machine.

Once its socket listens, the node says where, from the socket itself (so whatever --port,
GRAPH_API_PORT / KUZU_PORT or --host chose, the URL is the real one): a `node listening` log event
with `url`, and one plain line on stderr for whoever started it, with how to stop it.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn

from node_api.settings import NodeSettings, NodeType

cli = typer.Typer(add_completion=False, help="Run a graph node API (LadybugDB by default) on this machine.")


def listening_urls(sockets: list[socket.socket]) -> list[str]:
    """http://host:port of each listening socket, as the kernel bound it (IPv6 in brackets)."""
    urls = []
    for sock in sockets:
        host, port = sock.getsockname()[:2]
        urls.append(f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}")
    return urls


class AnnouncingServer(uvicorn.Server):
    """uvicorn's server, announcing the URLs its sockets really listen on once they do."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)  # exits the process if the port cannot be bound
        from node_api.core.logs import get_logger

        urls = listening_urls([s for server in self.servers for s in server.sockets])
        get_logger("node_api").info("node listening", url=urls[0] if urls else None, urls=urls)
        for url in urls:
            print(f"graph-node: listening on {url} (API docs {url}/docs); stop it with Ctrl+C or "
                  f"`kill {os.getpid()}`", file=sys.stderr, flush=True)


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port), before the node touches its data: a port in use ends the start
    with one plain line (exit 3), not a log event after start-up."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        sock.bind(address)
    except OSError as exc:
        print(f"graph-node: cannot listen on {host}:{port}: {exc.strerror or exc} (is another node running "
              f"there? choose another port with --port or GRAPH_API_PORT)", file=sys.stderr, flush=True)
        raise typer.Exit(3) from None
    return sock


@cli.command()
def serve(
    base_path: Annotated[Path | None, typer.Option(help="Where databases live (GRAPH_API_DATABASE_PATH).")] = None,
    node_type: Annotated[NodeType | None, typer.Option(help="writer or shared_master (GRAPH_API_NODE_TYPE).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (GRAPH_API_PORT; default 8001).")] = None,
    host: Annotated[str | None, typer.Option(help="Address to bind (GRAPH_API_HOST; default 127.0.0.1).")] = None,
    dev: Annotated[bool, typer.Option("--dev", help="Development mode: allows running without an API key.")] = False,
) -> None:
    """Start the node API. Every setting also reads its environment variable (see docs/configuration.md);
    options win over the environment. Stops on Ctrl+C or SIGTERM, letting running requests finish."""
    given = {"base_path": base_path, "node_type": node_type, "port": port, "host": host}
    overrides: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if dev:
        overrides["dev_mode"] = True
    settings = NodeSettings(**overrides)  # CLI options win over environment variables
    sock = listen(settings.host, settings.port)
    from node_api.core.base_path_lock import BasePathLockError, base_path_lock

    try:  # a plain line now; the lifespan takes the lock for good (and refuses a node that raced in)
        with base_path_lock(settings.base_path):
            pass
    except BasePathLockError as exc:
        print(f"graph-node: {exc}", file=sys.stderr, flush=True)
        raise typer.Exit(3) from None

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
    config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port, log_config=None,
                            access_log=False, timeout_graceful_shutdown=10, http=GuardedHttpToolsProtocol,
                            # Past this many connections uvicorn itself answers 503; admission control acts long before.
                            limit_concurrency=settings.max_connections)
    AnnouncingServer(config).run(sockets=[sock])


if __name__ == "__main__":
    cli()
