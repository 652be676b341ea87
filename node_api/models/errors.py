"""The error body every failure carries, as documented in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    error: ErrorDetail
    request_id: str | None = None


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# Declared once for the whole app: every route may answer these, with the same body.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("Invalid request: bad query, identifier, schema or JSON."),
    401: _error("Missing or invalid X-Graph-API-Key."),
    403: _error("Forbidden statement or resource."),
    404: _error("Unknown database, table, task or route."),
    408: _error("The query ran past its timeout and was interrupted."),
    409: _error("Conflict: exists, busy, capacity reached, write conflict."),
    413: _error("Request body too large."),
    415: _error("Send the body as JSON."),
    422: _error("The request does not match the API schema."),
    503: {**_error("Overloaded (with a Retry-After header) or backend unavailable."),
          "headers": {"Retry-After": {"description": "Seconds to wait before retrying.",
                                      "schema": {"type": "integer"}}}},
}
