"""API-key authentication (header X-Graph-API-Key), the same for every backend.

Keys come from a provider so that a rotated key (Secrets Manager: AWSCURRENT and AWSPREVIOUS during
the rotation window) is accepted without a restart. Every candidate is compared in constant time,
and all of them are always compared, so timing tells nothing about which key came close.
"""

from __future__ import annotations

import hmac
from typing import Protocol

import anyio
from fastapi import Request

from node_api.errors import ApiError

API_KEY_HEADER = "X-Graph-API-Key"


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


async def require_api_key(request: Request) -> None:
    """FastAPI dependency for every route except liveness/readiness."""
    state = request.app.state.node
    keys = state.key_provider.valid_keys()
    if not keys:
        if state.settings.dev_mode:
            return  # development mode without a key, announced at start-up
        raise ApiError(503, "auth_unconfigured", "no API key is configured on this node")
    supplied = request.headers.get(API_KEY_HEADER)
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
