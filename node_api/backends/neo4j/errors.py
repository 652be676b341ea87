"""Driver exceptions -> backend errors. Neo4j status codes decide; ArcadeDB reuses Neo4j's codes but
reports unknown procedures/functions as Neo.DatabaseError.General.UnknownError, so the message is
read too (that is the caller's fault, not the server's)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from neo4j import exceptions as nx

from node_api.backends import errors
from node_api.backends.messages import log_engine_error, public_message


@contextmanager
def translated() -> Iterator[None]:
    """Any driver, server or network exception raised in the block leaves it as the backend error it
    means (translate); the node's own BackendErrors (timeouts, budgets) pass as they are."""
    try:
        yield
    except errors.BackendError:
        raise
    except Exception as exc:  # noqa: BLE001 - every driver failure becomes a typed backend error
        raise translate(exc) from None


def translate(exc: BaseException) -> errors.BackendError:
    """The backend error for a driver exception; its message is public_message() of the server's or
    driver's text, the full text goes to the log."""
    if isinstance(exc, errors.BackendError):
        return exc
    raw = getattr(exc, "message", None) or str(exc)
    message = public_message(raw)
    log_engine_error("neo4j", exc, message)
    if isinstance(exc, nx.ConnectionAcquisitionTimeoutError) or "obtain a connection from the pool" in raw:
        return errors.Overloaded("all Bolt connections are busy (NEO4J_MAX_CONNECTION_POOL_SIZE)")
    if isinstance(exc, (nx.ServiceUnavailable, nx.SessionExpired)):
        return errors.BackendUnavailable(f"the Neo4j server is unreachable: {message}")
    if isinstance(exc, nx.AuthError):
        return errors.BackendUnavailable("the Neo4j server refused the configured credentials (NEO4J_USERNAME)")
    if isinstance(exc, nx.Neo4jError):
        code = exc.code or ""
        if code.endswith("DatabaseNotFound"):
            return errors.DatabaseNotFound(message)
        if "TransactionTimedOut" in code or "TransactionTimedOut" in raw:
            return errors.QueryTimeout("the query ran past its timeout and was stopped by the server")
        if isinstance(exc, nx.ConstraintError) or ".Schema.Constraint" in code:
            return errors.QueryFailed(f"constraint violation: {message}", neo4j_code=code)
        if isinstance(exc, nx.Forbidden) or ".Security." in code:
            return errors.QueryForbidden(message)
        if ".Statement." in code or ".Procedure." in code or "Unknown procedure" in raw \
                or "Unknown function" in raw:
            return errors.InvalidQuery(message, neo4j_code=code)
        if isinstance(exc, nx.TransientError):
            if "Deadlock" in code or "Lock" in code:
                return errors.WriteConflict(f"conflicting write: {message}; retry")
            return errors.Overloaded(f"transient server error: {message}")
        if isinstance(exc, nx.ClientError):
            return errors.QueryFailed(message, neo4j_code=code)
        return errors.QueryFailed(message, neo4j_code=code)
    if isinstance(exc, (nx.DriverError, ValueError, TypeError)):
        # Unsupported parameter types (the driver checks them before sending) and misuse of a result.
        return errors.InvalidQuery(message)
    if isinstance(exc, (OSError, ConnectionError)):
        return errors.BackendUnavailable(f"the Neo4j server is unreachable: {message}")
    return errors.BackendError(message)
