"""Engine failures and worker deaths -> the API's error classes (backends/errors.py).

Kuzu and LadybugDB raise RuntimeError for everything; the message's prefix tells what happened.
Messages reach clients only through `public_message` (no engine internals in a response body).
"""

from __future__ import annotations

import re

from node_api.backends import errors
from node_api.backends.embedded.process import EngineFailure, ExitReason, WorkerGone
from node_api.backends.messages import log_engine_error, public_message

_CALLER_FAULTS = ("Parser exception", "Binder exception", "Catalog exception")
# LadybugDB 0.22.0: "Catalog exception: function STEM is not defined. This function exists in the FTS
# extension. ..." (the policy answers first for reviewed extensions; this covers the rest).
_NEEDS_EXTENSION = re.compile(r"This function exists in the (\w+) extension")


def translate(failure: EngineFailure, *, engine: str, timed_out: bool = False) -> errors.BackendError:
    """The API's error for an engine's refusal; its message is public_message() of the engine's text
    (no pybind11, Python or C++ internals), the full text goes to the log with the request id."""
    message = failure.message
    public = public_message(message)
    log_engine_error(engine, failure, public)
    if failure.error_type == "NotPortable":  # portable.py: the graph holds what the format cannot carry
        return errors.Unsupported(f"this graph cannot be written as a portable backup: {public}")
    if needs := _NEEDS_EXTENSION.search(message):
        extension = needs.group(1).lower()
        return errors.Unsupported(f"the statement needs the {extension} extension, which this node has not "
                                  "loaded (LADYBUG_EXTENSION_DIR)", extension=extension)
    if "Interrupted" in message:
        if timed_out:
            return errors.QueryTimeout("the query ran past its timeout and was interrupted")
        return errors.QueryFailed("the query was interrupted")
    if "Cannot start a new write transaction" in message:
        return errors.WriteConflict("another write transaction is running on this database; retry")
    if message.startswith(_CALLER_FAULTS):
        return errors.InvalidQuery(public)
    if message.startswith("Buffer manager exception"):
        return errors.MemoryLimitExceeded(
            "the query needs more memory than the database's buffer pool, a part of its budget "
            "(KUZU_MEMORY_PER_DB_MB): " + public, setting="KUZU_MEMORY_PER_DB_MB")
    if failure.error_type in ("TypeError", "ValueError"):
        # The engine's binding refused a parameter value: the caller's fault, in the API's words.
        return errors.InvalidQuery(public)
    return errors.QueryFailed(public)


def worker_gone_error(gone: WorkerGone, *, memory_per_db_mb: int, max_memory_mb: int,
                      retry_after_s: int) -> errors.BackendError:
    """What a request that was using a worker is answered when the worker ended under it."""
    exit_info = gone.exit
    blamed = exit_info.blamed_channel is not None and exit_info.blamed_channel == gone.channel_id
    reason = exit_info.reason
    if reason is ExitReason.MEMORY:
        return errors.MemoryLimitExceeded(
            f"the database's queries passed its memory budget of {memory_per_db_mb} MB "
            "(KUZU_MEMORY_PER_DB_MB) and were stopped; the database reopens on the next request with "
            "every committed transaction", setting="KUZU_MEMORY_PER_DB_MB", limit_mb=memory_per_db_mb)
    if reason is ExitReason.NODE_MEMORY:
        return errors.MemoryLimitExceeded(
            f"the node's memory limit of {max_memory_mb} MB (KUZU_MAX_MEMORY_MB) was reached and this "
            "database's queries, the largest, were stopped; committed data is intact",
            setting="KUZU_MAX_MEMORY_MB", limit_mb=max_memory_mb)
    if reason is ExitReason.TIMEOUT and blamed:
        return errors.QueryTimeout("the query ran past its timeout and did not stop when interrupted; its "
                                   "database engine was restarted (committed data is intact)")
    if reason is ExitReason.CRASHED:
        how = exit_info.signal_name or f"exit status {exit_info.returncode}"
        return errors.EngineCrashed(
            f"the database engine stopped unexpectedly ({how}) while running this request; committed data "
            "is intact and the database reopens on the next request", how=how)
    return errors.EngineRestarted(
        "the database engine was restarted while this request used it; nothing of it was committed, retry",
        retry_after_s=retry_after_s)
