"""Structured JSON logs (structlog): one line per event, with the node's identity on every line.

Fields follow the spec's log format: timestamp, level, node_type, tier, instance_id, graph_id,
operation, duration_ms, status.
"""

from __future__ import annotations

import logging
import sys

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger


def configure_logging(*, level: str, node_type: str, tier: str, instance_id: str) -> None:
    def add_node_identity(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
        event.setdefault("node_type", node_type)
        event.setdefault("tier", tier)
        event.setdefault("instance_id", instance_id)
        return event

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        add_node_identity,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    # Route the standard library (uvicorn, boto, our error handlers) through the same JSON renderer.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processor=structlog.processors.JSONRenderer(),
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name, structlog.processors.format_exc_info],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).disabled = True  # replaced by our own access log line
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def get_logger(name: str = "node_api") -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
