"""A statement sent straight to an engine worker, past the statement policy: for the suites that test
the walls behind it (the worker sandbox, the engine's own refusals)."""

from node_api.backends.base import StatementKind
from node_api.backends.embedded.backend import EmbeddedBackend
from node_api.backends.errors import BackendError


async def run_in_worker(backend: EmbeddedBackend, graph_id: str, statement: str) -> str:
    """Runs `statement` in graph_id's worker as the node runs a query, past the statement policy (a
    wall behind it must hold on its own); returns the engine's error text, or 'ok'."""
    try:
        async with backend.session(graph_id, StatementKind.WRITE) as session:
            stream = await session.query(statement, None, timeout_s=10, chunk_rows=100)
            await stream.aclose()
    except BackendError as exc:
        return exc.message
    return "ok"
