"""API-key authentication (header X-Graph-API-Key), the same for every backend.

Keys come from a provider so that a rotated key (Secrets Manager: AWSCURRENT and AWSPREVIOUS during
the rotation window) is accepted without a restart. Every candidate is compared in constant time,
and all of them are always compared, so timing tells nothing about which key came close.
"""

from __future__ import annotations

import hmac
from typing import Protocol

import anyio
from fastapi import Request, Security
from fastapi.security import APIKeyHeader

from node_api.errors import ApiError

API_KEY_HEADER = "X-Graph-API-Key"

# Declared as an OpenAPI security scheme, so Swagger UI (/docs) offers "Authorize" and sends the key;
# auto_error off: the node answers a missing key in its own words (401 missing_api_key).
api_key_header = APIKeyHeader(name=API_KEY_HEADER, scheme_name="ApiKey", auto_error=False,
                              description="The node's API key (GRAPH_API_KEY; `test-key` on a development node).")


class ApiKeyProvider(Protocol):
    def valid_keys(self) -> tuple[str, ...]: ...


class StaticKeyProvider:
    def __init__(self, *keys: str) -> None:
        self._keys = tuple(k for k in keys if k)

    def valid_keys(self) -> tuple[str, ...]:
        return self._keys


def key_matches(candidate: str, keys: tuple[str, ...]) -> bool:
    supplied = candidate.encode()
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(supplied, key.encode())
    return matched


async def require_api_key(request: Request, supplied: str | None = Security(api_key_header)) -> None:
    """FastAPI dependency for every route except liveness/readiness. Raises ApiError 401
    (missing_api_key, invalid_api_key) or 503 (auth_unconfigured)."""
    state = request.app.state.node
    keys = state.key_provider.valid_keys()
    if not keys:
        if state.settings.dev_mode:
            return  # development mode without a key, announced at start-up
        raise ApiError(503, "auth_unconfigured", "no API key is configured on this node")
    if not supplied:
        raise ApiError(401, "missing_api_key", f"send the API key in the {API_KEY_HEADER} header",
                       headers={"WWW-Authenticate": API_KEY_HEADER})
    if key_matches(supplied, keys):
        return
    # A key we do not know yet may be brand new (rotation): providers that can refresh on a miss
    # do so off the event loop.
    is_valid = getattr(state.key_provider, "is_valid", None)
    if is_valid is None or not await anyio.to_thread.run_sync(is_valid, supplied):
        raise ApiError(401, "invalid_api_key", "the API key is not valid",
                       headers={"WWW-Authenticate": API_KEY_HEADER})
