"""Python clients of the graph node API: `GraphClient` (sync), `AsyncGraphClient` (asyncio), and
`get_graph_client` / `get_sync_graph_client`, which find a graph's node through the router API."""

from client.aio import AsyncGraphClient
from client.config import ClientConfig
from client.exceptions import (
    AllocationError,
    AuthenticationError,
    BackpressureError,
    BadRequestError,
    CircuitOpenError,
    ConflictError,
    ForbiddenError,
    GraphAPIError,
    GraphClientError,
    GraphNotRegisteredError,
    GraphUnavailableError,
    InsufficientStorageError,
    InvalidQueryError,
    NodeUnreachableError,
    NotFoundError,
    QueryTimeoutError,
    RegistryUnavailableError,
    RouterAuthError,
    RouterUnavailableError,
    RoutingError,
    ServerError,
    StreamInterruptedError,
    TaskFailedError,
    WaitTimeoutError,
)
from client.factory import OperationType, get_graph_client, get_sync_graph_client
from client.streams import AsyncRowStream, RowStream
from client.sync import GraphClient

__all__ = [
    "AllocationError",
    "AsyncGraphClient",
    "AsyncRowStream",
    "AuthenticationError",
    "BackpressureError",
    "BadRequestError",
    "CircuitOpenError",
    "ClientConfig",
    "ConflictError",
    "ForbiddenError",
    "GraphAPIError",
    "GraphClient",
    "GraphClientError",
    "GraphNotRegisteredError",
    "GraphUnavailableError",
    "InsufficientStorageError",
    "InvalidQueryError",
    "NodeUnreachableError",
    "NotFoundError",
    "OperationType",
    "QueryTimeoutError",
    "RegistryUnavailableError",
    "RouterAuthError",
    "RouterUnavailableError",
    "RoutingError",
    "RowStream",
    "ServerError",
    "StreamInterruptedError",
    "TaskFailedError",
    "WaitTimeoutError",
    "get_graph_client",
    "get_sync_graph_client",
]
