"""Kuzu raises RuntimeError for everything; the message prefix tells what happened."""

from __future__ import annotations

from node_api.backends import errors
from node_api.backends.messages import log_engine_error, public_message

# A connection that saw one of these is discarded instead of going back to the pool: after a
# failed BEGIN ("Cannot start a new write transaction") Kuzu 0.11.3 segfaults on the connection's
# next query (measured on this machine).
_DISCARD_MARKERS = ("transaction", "Transaction", "Interrupted", "Connection exception", "Buffer manager")


def must_discard_connection(exc: BaseException) -> bool:
    if not isinstance(exc, RuntimeError):
        return not isinstance(exc, errors.BackendError)
    return any(marker in str(exc) for marker in _DISCARD_MARKERS)


def translate(exc: Exception, *, timed_out: bool = False) -> errors.BackendError:
    """The backend error for an engine exception; its message is public_message() of the engine's
    text (no pybind11, Python or C++ internals), the full text goes to the log."""
    if isinstance(exc, errors.BackendError):
        return exc
    message = str(exc)
    public = public_message(message)
    log_engine_error("kuzu", exc, public)
    if "Interrupted" in message:
        if timed_out:
            return errors.QueryTimeout("the query ran past its timeout and was interrupted")
        return errors.QueryFailed("the query was interrupted")
    if "Cannot start a new write transaction" in message:
        return errors.WriteConflict("another write transaction is running on this database; retry")
    if message.startswith(("Parser exception", "Binder exception", "Catalog exception")):
        return errors.InvalidQuery(public)
    if message.startswith("Buffer manager exception"):
        return errors.QueryFailed(
            "the query needs more memory than the database's buffer pool (KUZU_MEMORY_PER_DB_MB): " + public
        )
    if isinstance(exc, (RuntimeError, ValueError, TypeError)):
        return errors.QueryFailed(public)
    return errors.BackendError(public)
