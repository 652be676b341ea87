"""The router API (FastAPI). `create_app(settings)` is served by Mangum on Lambda (handler.py) and by
uvicorn in the local cluster (`python -m lambdas.router_api`); routes and models in contracts/router.py.

Errors answer with the node API's body {"error": {"code", "message", "details"}, "request_id"}, in the
API's own words: registry failures are `registry_unavailable` (503), never a botocore message.
"""


import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from aws_lambda_powertools import Metrics
from botocore.exceptions import BotoCoreError, ClientError
from fastapi import Depends, FastAPI, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from contracts.registry import GRAPH_ID_PATTERN
from contracts.router import (
    ROUTER_ERROR_STATUS,
    AllocateGraph,
    ErrorBody,
    GraphRoute,
    InstanceList,
    ReleasedGraph,
    RouterHealth,
)
from lambdas.common.aws import Aws
from lambdas.common.errors import ControlPlaneError, NotFound
from lambdas.router_api.auth import AuthError, EdgeIamAuth, Principal, SigV4Verifier, load_credentials
from lambdas.router_api.service import RouterService
from lambdas.router_api.settings import AuthMode, RouterSettings

GraphIdPath = Annotated[str, Path(pattern=GRAPH_ID_PATTERN, description="The graph's id")]
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody} for status in (401, 403, 404, 409, 422, 503)
}


class ApiError(Exception):
    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details


def _request_id(request: Request) -> str:
    context = request.scope.get("aws.context")
    return (request.headers.get("x-request-id") or getattr(context, "aws_request_id", None)
            or uuid.uuid4().hex)


def _error(request: Request, code: str, message: str, details: dict[str, Any] | None = None,
           status: int | None = None) -> JSONResponse:
    body = ErrorBody.model_validate({"error": {"code": code, "message": message, "details": details or {}},
                                     "request_id": _request_id(request)})
    return JSONResponse(body.model_dump(), status_code=status or ROUTER_ERROR_STATUS.get(code, 500))


def create_app(settings: RouterSettings | None = None, *, aws: Aws | None = None,
               metrics: Metrics | None = None) -> FastAPI:
    """`aws` defaults to clients built from `settings`; `metrics` (Lambda) receives allocation metrics."""
    settings = settings or RouterSettings()
    bundle = aws or Aws(settings)
    if settings.auth_mode == AuthMode.SIGV4:
        if not settings.credentials_file:
            raise RuntimeError("ROUTER_AUTH_MODE=sigv4 needs ROUTER_CREDENTIALS_FILE")
        verifier: SigV4Verifier | None = SigV4Verifier(
            load_credentials(settings.credentials_file), region=settings.region,
            service=settings.signing_service, max_skew_s=settings.max_clock_skew_s)
    else:
        verifier = None
    edge = EdgeIamAuth()

    def service() -> RouterService:
        return RouterService(bundle.registry, settings)

    async def authenticated(request: Request) -> Principal:
        try:
            if verifier is None:
                return edge.principal(request.scope)
            url = f"{request.url.scheme}://{request.headers.get('host', '')}{request.scope.get('raw_path', b'').decode() or request.url.path}"
            if request.url.query:
                url += f"?{request.url.query}"
            return verifier.verify(request.method, url, request.headers, await request.body())
        except AuthError as exc:
            raise ApiError("unauthenticated" if exc.status == 401 else "forbidden", exc.message) from None

    app = FastAPI(
        title="Graph cluster router API",
        version="0.1.0",
        description=(
            "Where each graph lives, and placement of new graphs. Every route but /health needs an IAM "
            "principal's SigV4 signature (service `" + settings.signing_service + "`)."
        ),
        responses=_ERRORS,
    )

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(request, exc.code, exc.message, exc.details)

    @app.exception_handler(ControlPlaneError)
    async def _control_plane_error(request: Request, exc: ControlPlaneError) -> JSONResponse:
        code = "graph_not_found" if isinstance(exc, NotFound) and "graph_id" in exc.details else exc.code
        return _error(request, code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": [str(p) for p in e["loc"]], "msg": e["msg"]} for e in exc.errors()]
        return _error(request, "validation_error", "the request does not match the API", {"errors": errors})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = "not_found" if exc.status_code == 404 else "http_error"
        return _error(request, code, str(exc.detail), status=exc.status_code)

    @app.exception_handler(ClientError)
    @app.exception_handler(BotoCoreError)
    async def _registry(request: Request, exc: Exception) -> JSONResponse:
        aws_code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else type(exc).__name__
        return _error(request, "registry_unavailable", "the registry could not be read or written; retry",
                      {"aws_code": aws_code})

    @app.middleware("http")
    async def _unexpected(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        try:
            return await call_next(request)
        except Exception:  # noqa: BLE001 - logged by the platform; the caller gets the API's body only
            return _error(request, "internal_error", "unexpected error in the router")

    Caller = Annotated[Principal, Depends(authenticated)]
    Service = Annotated[RouterService, Depends(service)]

    @app.get("/health", response_model=RouterHealth, tags=["health"])
    def health(router: Service) -> RouterHealth:
        """Liveness, and whether the registry answers (no authentication: it reveals nothing)."""
        try:
            registry = router.check_registry()
        except (ClientError, BotoCoreError) as exc:
            registry = f"unavailable: {type(exc).__name__}"
        return RouterHealth(environment=settings.environment, registry=registry)

    @app.get("/graphs/{graph_id}", response_model=GraphRoute, tags=["graphs"])
    def get_graph(graph_id: GraphIdPath, router: Service, _: Caller) -> GraphRoute:
        """The graph's writer URL (null while it is not served), read replicas and status."""
        return router.route(graph_id)

    @app.post("/graphs", response_model=GraphRoute, status_code=201, tags=["graphs"],
              responses={200: {"model": GraphRoute, "description": "Already placed (same owner and tier)"}})
    def allocate(body: AllocateGraph, response: Response, router: Service, _: Caller) -> GraphRoute:
        """Place a new graph on the healthy node of its tier with the most free slots (idempotent by
        graph_id: the same request again answers 200 with the same placement)."""
        route = router.allocate(body, bundle, metrics)
        if not route.created:
            response.status_code = 200
        return route

    @app.delete("/graphs/{graph_id}", response_model=ReleasedGraph, tags=["graphs"])
    def release(graph_id: GraphIdPath, router: Service, _: Caller) -> ReleasedGraph:
        """Forget the graph's placement and free its slot (delete the database on its node first)."""
        return router.release(graph_id)

    @app.get("/instances", response_model=InstanceList, tags=["instances"])
    def instances(router: Service, _: Caller) -> InstanceList:
        """Every registered node: status, capacity and the graphs placed on it."""
        return router.instances()

    return app
