"""`graph-cli` (`python -m client`): health, databases, where, instances, create, query, ingest, backup,
restore, tasks.

With GRAPH_ROUTER_URL set (or --router-url) every graph command finds the graph's node through the
router API, and `create` places a new graph through the allocator first. --url talks to one node
instead; a write through --url to a graph the registry assigns to another node (or to none) is refused
unless --force. Commands about one node rather than one graph (`health`, `databases`, `tasks` without
--graph-id) need --url there: they exit 2 at once instead of guessing a node. Without a router, the node
is --url, else GRAPH_CLIENT_BASE_URL (default http://127.0.0.1:8001). The key comes from --api-key, else
GRAPH_CLIENT_API_KEY (or GRAPH_API_KEY). Errors print their code and message (and, for a node that
cannot be reached or a missing key, which setting to change) and exit 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from client.config import ClientConfig
from client.exceptions import (
    AuthenticationError,
    CircuitOpenError,
    GraphAPIError,
    GraphClientError,
    GraphNotRegisteredError,
    NodeUnreachableError,
    NotFoundError,
)
from client.factory import GraphClientFactory
from client.formats import OutputFormat, key_values, write_rows
from client.models import Task, TaskList
from client.progress import follow_progress, rate_text, rows_text
from client.resilience import is_read_only
from client.routing import OperationType
from client.sync import GraphClient
from node_api.models.values import ValueDecodeError, decode_value

# Markdown help: docstring paragraphs are reflowed to the terminal's width, not broken where the source is.
app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode="markdown",
                  help="Talk to a graph node API.")
console = Console()
errors = Console(stderr=True)


class _State:
    url: str | None = None
    api_key: str | None = None
    router_url: str | None = None
    force: bool = False

    def config(self) -> ClientConfig:
        overrides = {k: v for k, v in {"api_key": self.api_key, "router_url": self.router_url}.items() if v}
        base = ClientConfig()
        return base.model_validate({**base.model_dump(), **overrides}) if overrides else base

    def factory(self) -> GraphClientFactory | None:
        """The router-backed factory, when a router is configured."""
        config = self.config()
        return GraphClientFactory(config) if config.router_url else None


state = _State()


@app.callback()
def main(
    url: Annotated[str | None, typer.Option(help="Talk to this node, not the graph's routed node.")] = None,
    api_key: Annotated[str | None, typer.Option(help="API key (GRAPH_CLIENT_API_KEY / GRAPH_API_KEY).")] = None,
    router_url: Annotated[str | None, typer.Option(help="Router API (GRAPH_ROUTER_URL).")] = None,
    force: Annotated[bool, typer.Option(help="Write through --url even where the registry does not assign the graph.")] = False,
) -> None:
    state.url, state.api_key, state.router_url, state.force = url, api_key, router_url, force


def _fail(message: str, code: int = 1) -> typer.Exit:
    """Print `error: message` on stderr; the Exit to raise (1: the call failed, 2: a usage error)."""
    errors.print(Text.assemble(("error:", "red"), " ", message), soft_wrap=True)
    return typer.Exit(code)


def _node_source(config: ClientConfig, graph_id: str | None) -> str:
    """Where the node's URL came from, as the user would change it."""
    if state.url is not None:
        return "--url"
    if graph_id is not None and state.factory() is not None:
        return f"the router's route for {graph_id}"
    if "base_url" in config.model_fields_set:
        return "GRAPH_CLIENT_BASE_URL"
    return "the default; set GRAPH_CLIENT_BASE_URL or pass --url"


def _message(exc: GraphClientError, config: ClientConfig, graph_id: str | None) -> str:
    """The error's own text, plus what a CLI user changes when it is a setting of theirs."""
    if isinstance(exc, NodeUnreachableError | CircuitOpenError):  # the circuit opens after repeated failures
        return f"cannot reach the node at {exc.node} ({_node_source(config, graph_id)}): {str(exc).removeprefix(exc.node + ': ')}"
    if isinstance(exc, AuthenticationError):
        # The node's advice is for HTTP callers (which header); the CLI's settings are these.
        given = "no API key was sent" if exc.code == "missing_api_key" else "the API key was refused"
        return f"{exc.status_code} {exc.code}: {given}: set GRAPH_CLIENT_API_KEY or pass --api-key"
    return str(exc)


def _needs_node(what: str, alternative: str = "") -> None:
    """With a router, a command about one node (not one graph) must be told which: exit 2 otherwise."""
    if state.url is None and state.factory() is not None:
        raise _fail(f"{what}: pass --url{alternative} (the nodes: `graph-cli instances`)", code=2)


def _check_assignment(factory: GraphClientFactory, graph_id: str, url: str) -> None:
    """Refuse a write through --url unless the registry assigns `graph_id` to that node (or --force)."""
    try:
        route = factory.lookup(graph_id)
    except GraphNotRegisteredError:
        assigned = None
    else:
        assigned = route.writer.url if route.writer else None
    if assigned is not None and assigned.rstrip("/") == url.rstrip("/"):
        return
    where = f"assigns it to {assigned}" if assigned else "assigns it to no serving node"
    raise _fail(f"the registry {where}, not {url}: refusing to write to {graph_id} there (--force to do it anyway)")


@contextmanager
def connect(graph_id: str | None = None, operation: OperationType = OperationType.READ) -> Iterator[GraphClient]:
    """A client on the node for `graph_id` (routed), or on --url / the configured base URL."""
    config = state.config()
    try:
        factory = state.factory()
        if state.url is not None or factory is None or graph_id is None:
            if state.url is not None and factory is not None and graph_id is not None \
                    and operation is not OperationType.READ and not state.force:
                _check_assignment(factory, graph_id, state.url)
            client = GraphClient(state.url, config=config)
        else:
            client = factory.sync_client(graph_id, operation)
        with client:
            yield client
    except GraphClientError as exc:
        raise _fail(_message(exc, config, graph_id)) from None


@app.command()
def health() -> None:
    """Readiness and node information; exits 1 when the node cannot take work."""
    _needs_node("`health` checks one node")
    with connect() as c:
        status = c.health()
        console.print(key_values("status", status.model_dump()))
        if status.ready:
            console.print(key_values("info", c.info().model_dump(exclude={"limits"})))
    if not status.ready:
        raise typer.Exit(1)


@app.command()
def databases() -> None:
    """The node's databases."""
    _needs_node("`databases` lists one node's graphs")
    with connect() as c:
        listing = c.list_databases()
    table = Table("graph_id", "schema_type", "created_at", "open", "size_bytes",
                  title=f"{listing.total} of {listing.max_databases} databases")
    for d in listing.databases:
        table.add_row(d.graph_id, d.schema_type, d.created_at.isoformat(timespec="seconds"), str(d.is_open),
                      "" if d.size_bytes is None else f"{d.size_bytes:,}")
    console.print(table)


@app.command()
def create(
    graph_id: str,
    schema_type: Annotated[str, typer.Option(help="entity | shared | custom")] = "entity",
    ddl_file: Annotated[Path | None, typer.Option(help="DDL for schema_type=custom (implies it).")] = None,
) -> None:
    """Create a database.

    `--schema-type custom` without `--ddl-file` creates an empty graph; give it a schema later with
    `POST /databases/{graph_id}/schema` (or the clients' `apply_schema`)."""
    ddl = ddl_file.read_text() if ddl_file else None
    with connect(graph_id, OperationType.CREATE) as c:
        created = c.create_database(graph_id, "custom" if ddl and schema_type == "entity" else schema_type, ddl)
    console.print(f"created {created.graph_id} ({created.schema_type}) in {created.execution_time_ms} ms")


def _parameters(values: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in values:
        name, sep, raw = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"{item!r}: use name=value (value as JSON, else a string)")
        try:
            wire = json.loads(raw)
        except ValueError:
            params[name] = raw
            continue
        try:
            params[name] = decode_value(wire, name)  # typed JSON too: {"$type": "Date", "_value": ...}
        except ValueDecodeError as exc:
            raise typer.BadParameter(str(exc)) from None
    return params


@app.command()
def query(
    graph_id: str,
    cypher: str,
    param: Annotated[list[str], typer.Option("--param", "-p", help="name=value; the value is JSON or a string.")] = [],  # noqa: B006
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.TABLE,
    timeout: Annotated[float | None, typer.Option(help="Query timeout in seconds.")] = None,
) -> None:
    """Run Cypher. ndjson and csv are written row by row as the node streams them."""
    operation = OperationType.READ if is_read_only(cypher) else OperationType.WRITE
    with connect(graph_id, operation) as c, c.query_stream(graph_id, cypher, _parameters(param), timeout) as rows:
        count = write_rows(fmt, rows.columns or [], rows, console)
    if fmt is OutputFormat.TABLE:
        errors.print(f"{count} rows")


def follow(client: GraphClient, task_id: str, label: str) -> Task:
    """One progress line (phase, percent, rows, rows/s, ETA) fed by the task's SSE stream; returns
    the finished task, or exits 1 with its error if it failed."""
    final = follow_progress(client.monitor_task(task_id), label, errors)
    assert final is not None  # monitor_task ends with the finished task
    if final.status == "failed":
        error = final.error or {}
        errors.print(f"[red]task {task_id} failed:[/red] {error.get('code')}: {error.get('message')}")
        raise typer.Exit(1)
    return final


def _upload(path: Path, destination: str) -> str:
    """Put a local file at s3://bucket/prefix/ (the standard AWS environment decides the endpoint)."""
    import boto3

    bucket, _, prefix = destination.removeprefix("s3://").partition("/")
    key = f"{prefix.rstrip('/')}/{path.name}".lstrip("/")
    boto3.client("s3").upload_file(str(path), bucket, key)
    return f"s3://{bucket}/{key}"


@app.command()
def ingest(
    graph_id: str,
    table: str,
    source: Annotated[str, typer.Argument(help="s3://bucket/path/*.parquet, or a local Parquet file.")],
    upload_to: Annotated[str | None, typer.Option(help="Upload a local file to this s3:// prefix first.")] = None,
    ignore_errors: bool = False,
    rebuild: bool = False,
) -> None:
    """Stage Parquet into a staging table, then load it into the graph.

    A progress line for each step (phase, rows, rows/s, ETA). A local file is uploaded with
    `--upload-to`, else read by the node as `file://` (local development: the node's
    `GRAPH_API_STAGING_LOCAL_ROOT` must contain it)."""
    local = not source.startswith("s3://") and not upload_to
    if not source.startswith("s3://"):
        path = Path(source).resolve()
        if not path.is_file():
            raise typer.BadParameter(f"{source}: no such file")
        source = _upload(path, upload_to) if upload_to else path.as_uri()
    with connect(graph_id, OperationType.WRITE) as c:
        try:
            accepted = c.start_create_table(graph_id, table, source)
        except GraphAPIError as exc:
            if local and exc.code == "invalid_source":
                root = exc.details.get("local_root") if isinstance(exc.details, dict) else None
                where = root or "(scripts/run-node: ./data/staging/)"
                raise _fail(f"{exc}\nhint: the node reads local files only under its GRAPH_API_STAGING_LOCAL_ROOT "
                            f"{where}; copy the file there, or use --upload-to s3://...") from None
            raise
        staged = follow(c, accepted.task_id, f"stage {table}")
        staged_rows = (staged.result or {}).get("row_count")
        errors.print(f"staged {staged_rows} rows into {table} (task {staged.task_id})")
        accepted = c.start_ingest(graph_id, table, ignore_errors=ignore_errors, rebuild=rebuild)
        done = follow(c, accepted.task_id, f"ingest {table}")
    console.print(key_values(f"ingested {table}", done.result or {}))


@app.command()
def backup(graph_id: str, destination: Annotated[str, typer.Option(help="local | s3")] = "local") -> None:
    """Back up a database and wait for it."""
    with connect(graph_id) as c:
        done = follow(c, c.backup_database(graph_id, destination).task_id, f"backup {graph_id}")
    console.print(key_values("backup", done.result or {}))


@app.command()
def restore(
    graph_id: str,
    location: Annotated[str | None, typer.Argument(help="A location from the backup list; default: newest.")] = None,
    target: Annotated[str | None, typer.Option(help="Restore as this new graph instead.")] = None,
) -> None:
    """Restore a backup (the newest unless a location is given) and wait for it."""
    with connect(graph_id, OperationType.WRITE) as c:
        if location is None:
            backups = c.list_backups(graph_id).backups
            if not backups:
                errors.print(f"[red]no backups of {graph_id}[/red]")
                raise typer.Exit(1)
            location = max(backups, key=lambda b: b.created_at).location
        done = follow(c, c.restore_database(graph_id, location, target).task_id, f"restore {graph_id}")
    console.print(key_values("restore", done.result or {}))


def resolve_task_id(client: GraphClient, task_id: str, graph_id: str | None) -> str:
    """A full task id, or the one recent task (of `graph_id`, if given) whose id starts with it."""
    try:
        return client.get_task(task_id).task_id
    except NotFoundError:
        pass
    matches = [t.task_id for t in client.list_tasks(graph_id=graph_id, limit=1000).tasks
               if t.task_id.startswith(task_id)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise _fail(f"no task {task_id!r} on this node")
    raise _fail(f"{task_id!r} is the start of {len(matches)} task ids: {', '.join(matches[:5])}")


def age_text(then: datetime, now: datetime | None = None) -> str:
    """How long ago, in its largest unit: `42s`, `17m`, `5h`, `3d`."""
    seconds = max(0, int(((now or datetime.now(UTC)) - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def task_table(listing: TaskList, *, wide: bool = False) -> Table:
    """Tasks as rows: id, kind, graph, status, progress and age fit 80 columns; `wide` adds rows,
    rate and the creation time. Ids are whole on any width (they are copied from here)."""
    # Two spaces between columns, none at the edges, a rule under the header: no width spent on borders.
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 0, 0, 1), pad_edge=False)
    table.add_column("task_id", no_wrap=True, min_width=max((len(t.task_id) for t in listing.tasks), default=7))
    table.add_column("kind", no_wrap=True)
    table.add_column("graph_id", overflow="fold", min_width=8)  # the one column that gives way: folded, never cut
    table.add_column("status", no_wrap=True)
    table.add_column("progress", justify="right", no_wrap=True)
    if wide:
        table.add_column("rows", justify="right", no_wrap=True)
        table.add_column("rate", justify="right", no_wrap=True)
        table.add_column("created_at", no_wrap=True)
    else:
        table.add_column("age", justify="right", no_wrap=True)
    for t in listing.tasks:
        cells = [t.task_id, t.kind, t.graph_id or "", t.status, f"{t.progress:g}%"]
        if wide:
            cells += [rows_text(t), rate_text(t), t.created_at.isoformat(timespec="seconds")]
        else:
            cells.append(age_text(t.created_at))
        table.add_row(*cells)
    return table


@app.command()
def tasks(
    task_id: Annotated[str | None, typer.Argument(help="Show this task (its full id, or the start of one).")] = None,
    graph_id: Annotated[str | None, typer.Option(help="Only this database's tasks.")] = None,
    limit: int = 20,
    wait: Annotated[bool, typer.Option(help="Follow the task until it ends.")] = False,
    wide: Annotated[bool, typer.Option(help="Also rows, rate and the creation time (wider than 80 columns).")] = False,
) -> None:
    """Recent background tasks, or one task (optionally followed to the end).

    Tasks live on a node: with a router, `--graph-id` picks the graph's node (else `--url`); without
    one, the node is `--url` or `GRAPH_CLIENT_BASE_URL`."""
    if graph_id is None:
        _needs_node("`tasks` lists one node's tasks", " or --graph-id")
    with connect(graph_id) as c:
        if task_id is not None:
            task_id = resolve_task_id(c, task_id, graph_id)
            task = follow(c, task_id, task_id) if wait else c.get_task(task_id)
            console.print(key_values(task.task_id, task.model_dump(mode="json")))
            return
        listing = c.list_tasks(graph_id=graph_id, limit=limit)
    console.print(task_table(listing, wide=wide))


@app.command()
def where(graph_id: str) -> None:
    """Where the router says a graph lives: its node, URL and status (needs a router)."""
    factory = state.factory()
    if factory is None:
        raise _fail("no router: set GRAPH_ROUTER_URL or --router-url")
    try:
        route = factory.lookup(graph_id)
    except GraphClientError as exc:
        raise _fail(str(exc)) from None
    console.print(key_values(graph_id, route.model_dump(mode="json", exclude_none=True)))


@app.command()
def instances() -> None:
    """Every registered node: status, capacity and graphs (needs a router)."""
    factory = state.factory()
    if factory is None:
        raise _fail("no router: set GRAPH_ROUTER_URL or --router-url")
    try:
        listing = factory.router().instances()  # type: ignore[attr-defined]
    except GraphClientError as exc:
        raise _fail(str(exc)) from None
    table = Table("instance_id", "status", "node_type", "tier", "url", "slots", "graphs")
    for i in listing.instances:
        table.add_row(i.instance_id, str(i.status), i.node_type, i.cluster_tier, i.url,
                      f"{i.capacity.allocated}/{i.capacity.max_databases}", ", ".join(i.graphs))
    console.print(table)
