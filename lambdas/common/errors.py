"""Errors a control-plane operation reports to its caller as a result (not a crash)."""

from __future__ import annotations

from typing import Any


class ControlPlaneError(Exception):
    code = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidRequest(ControlPlaneError):
    code = "invalid_request"


class NotFound(ControlPlaneError):
    code = "not_found"


class Conflict(ControlPlaneError):
    code = "conflict"


class NoCapacity(ControlPlaneError):
    code = "no_capacity"


class Unavailable(ControlPlaneError):
    code = "unavailable"
