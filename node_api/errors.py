"""One error body for every failure: {"error": {"code", "message", "details"}, "request_id"}.

Backend errors carry no HTTP status; this table is the one place that decides them.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import Scope, Send

from node_api.backends import errors as be
from node_api.core.jsonenc import dumps
from node_api.security.paths import InvalidIdentifier

log = logging.getLogger("node_api.errors")

_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 406: "not_acceptable", 413: "payload_too_large",
               415: "unsupported_media_type", 429: "too_many_requests"}


class ApiError(Exception):
    """An error raised by the HTTP layer itself (auth, content negotiation, body limits)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None,
                 **details: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers, self.details = status, code, message, headers, details


def error_body(code: str, message: str, details: Any = None, request_id: str | None = None) -> bytes:
    return dumps({"error": {"code": code, "message": message, "details": details or {}},
                  "request_id": request_id})


def error_response(request: Request | None, status: int, code: str, message: str,
                   details: Any = None, headers: dict[str, str] | None = None) -> Response:
    request_id = getattr(request.state, "request_id", None) if request is not None else None
    return Response(error_body(code, message, details, request_id), status_code=status,
                    media_type="application/json", headers=headers)


async def send_error(scope: Scope, send: Send, status: int, code: str, message: str, details: Any = None,
                     headers: dict[str, str] | None = None) -> None:
    """The same error answer from pure ASGI middleware, before FastAPI is involved."""
    body = error_body(code, message, details, scope.get("state", {}).get("request_id"))
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


def backend_error_response(request: Request | None, exc: be.BackendError) -> Response:
    status = exc.status_code
    headers = None
    if isinstance(exc, be.Overloaded):
        headers = {"Retry-After": str(exc.retry_after_s)}
    # A worker's death is logged once where it is seen (backends/embedded/process.py).
    if status >= 500 and not isinstance(exc, (be.Overloaded, be.BackendUnavailable, be.EngineCrashed)):
        log.error("backend error", exc_info=exc)
    return error_response(request, status, exc.code, exc.message, exc.details, headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(be.BackendError)
    async def _backend(request: Request, exc: be.BackendError) -> Response:
        return backend_error_response(request, exc)

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> Response:
        return error_response(request, exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(InvalidIdentifier)
    async def _identifier(request: Request, exc: InvalidIdentifier) -> Response:
        return error_response(request, 400, "invalid_identifier", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()
        ]
        content_type = request.headers.get("content-type", "")
        if request.method in ("POST", "PUT", "PATCH") and "json" not in content_type and any(
            p["loc"] == ["body"] for p in problems
        ):
            return error_response(request, 415, "unsupported_media_type",
                                  "send the body as JSON with Content-Type: application/json")
        if any(p["type"] == "json_invalid" for p in problems):
            return error_response(request, 400, "malformed_json", "the request body is not valid JSON", problems)
        return error_response(request, 422, "validation_error", "the request does not match the API schema",
                              problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(request, exc.status_code, code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("unhandled error", exc_info=exc)
        return error_response(request, 500, "internal_error", "an unexpected error occurred; see the node's logs")
