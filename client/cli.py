"""`python -m client`: health, databases, create, query, ingest, backup, restore, tasks.

The node and key come from --url / --api-key, else GRAPH_CLIENT_BASE_URL / GRAPH_CLIENT_API_KEY
(or GRAPH_API_KEY). Errors print the node's code, message and request id, and exit 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from client.config import ClientConfig
from client.exceptions import GraphClientError
from client.formats import OutputFormat, key_values, write_rows
from client.models import Task
from client.sync import GraphClient
from node_api.models.values import ValueDecodeError, decode_value

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Talk to a graph node API.")
console = Console()
errors = Console(stderr=True)


class _State:
    url: str | None = None
    api_key: str | None = None


state = _State()


@app.callback()
def main(
    url: Annotated[str | None, typer.Option(help="Node URL (GRAPH_CLIENT_BASE_URL).")] = None,
    api_key: Annotated[str | None, typer.Option(help="API key (GRAPH_CLIENT_API_KEY / GRAPH_API_KEY).")] = None,
) -> None:
    state.url, state.api_key = url, api_key


@contextmanager
def connect() -> Iterator[GraphClient]:
    try:
        with GraphClient(state.url, state.api_key, config=ClientConfig()) as client:
            yield client
    except GraphClientError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None


@app.command()
def health() -> None:
    """Readiness and node information; exits 1 when the node cannot take work."""
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
    with connect() as c:
        listing = c.list_databases()
    table = Table("graph_id", "schema_type", "created_at", "open", "size_bytes",
                  title=f"{listing.total} of {listing.max_databases} databases")
    for d in listing.databases:
        table.add_row(d.graph_id, d.schema_type, d.created_at.isoformat(), str(d.is_open), str(d.size_bytes or ""))
    console.print(table)


@app.command()
def create(
    graph_id: str,
    schema_type: Annotated[str, typer.Option(help="entity | shared | custom")] = "entity",
    ddl_file: Annotated[Path | None, typer.Option(help="DDL for schema_type=custom.")] = None,
) -> None:
    """Create a database."""
    ddl = ddl_file.read_text() if ddl_file else None
    with connect() as c:
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
    param: Annotated[list[str], typer.Option("--param", "-p", help="name=value (JSON or string).")] = [],  # noqa: B006
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.TABLE,
    timeout: Annotated[float | None, typer.Option(help="Query timeout in seconds.")] = None,
) -> None:
    """Run Cypher. ndjson and csv are written row by row as the node streams them."""
    with connect() as c, c.query_stream(graph_id, cypher, _parameters(param), timeout) as rows:
        count = write_rows(fmt, rows.columns or [], rows, console)
    if fmt is OutputFormat.TABLE:
        errors.print(f"{count} rows")


def follow(client: GraphClient, task_id: str, label: str) -> Task:
    """A progress bar fed by the task's SSE stream; returns the finished task."""
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
    final: Task | None = None
    with Progress(*columns, console=errors, transient=False) as progress:
        bar = progress.add_task(label, total=100)
        for task in client.monitor_task(task_id):
            progress.update(bar, completed=task.progress, description=f"{label}: {task.message or task.status}")
            final = task
    assert final is not None
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
    """Stage Parquet into a staging table, then load it into the graph, with a progress bar.

    A local file is uploaded with --upload-to, else read by the node as file:// (local development:
    the node's GRAPH_API_STAGING_LOCAL_ROOT must contain it)."""
    if not source.startswith("s3://"):
        path = Path(source).resolve()
        if not path.is_file():
            raise typer.BadParameter(f"{source}: no such file")
        source = _upload(path, upload_to) if upload_to else path.as_uri()
    with connect() as c:
        staged = c.create_table(graph_id, table, source)
        errors.print(f"staged {staged.row_count} rows into {table} ({staged.execution_time_ms} ms)")
        accepted = c.start_ingest(graph_id, table, ignore_errors=ignore_errors, rebuild=rebuild)
        done = follow(c, accepted.task_id, f"ingest {table}")
    console.print(key_values(f"ingested {table}", done.result or {}))


@app.command()
def backup(graph_id: str, destination: Annotated[str, typer.Option(help="local | s3")] = "local") -> None:
    """Back up a database and wait for it."""
    with connect() as c:
        done = follow(c, c.backup_database(graph_id, destination).task_id, f"backup {graph_id}")
    console.print(key_values("backup", done.result or {}))


@app.command()
def restore(
    graph_id: str,
    location: Annotated[str | None, typer.Argument(help="A location from the backup list; default: newest.")] = None,
    target: Annotated[str | None, typer.Option(help="Restore as this new graph instead.")] = None,
) -> None:
    """Restore a backup (the newest unless a location is given) and wait for it."""
    with connect() as c:
        if location is None:
            backups = c.list_backups(graph_id).backups
            if not backups:
                errors.print(f"[red]no backups of {graph_id}[/red]")
                raise typer.Exit(1)
            location = max(backups, key=lambda b: b.created_at).location
        done = follow(c, c.restore_database(graph_id, location, target).task_id, f"restore {graph_id}")
    console.print(key_values("restore", done.result or {}))


@app.command()
def tasks(
    task_id: Annotated[str | None, typer.Argument(help="Show this task.")] = None,
    graph_id: Annotated[str | None, typer.Option(help="Only this database's tasks.")] = None,
    limit: int = 20,
    wait: Annotated[bool, typer.Option(help="Follow the task until it ends.")] = False,
) -> None:
    """Recent background tasks, or one task (optionally followed to the end)."""
    with connect() as c:
        if task_id is not None:
            task = follow(c, task_id, task_id) if wait else c.get_task(task_id)
            console.print(key_values(task.task_id, task.model_dump(mode="json")))
            return
        listing = c.list_tasks(graph_id=graph_id, limit=limit)
    table = Table("task_id", "kind", "graph_id", "status", "progress", "rows_done", "created_at")
    for t in listing.tasks:
        table.add_row(t.task_id, t.kind, t.graph_id or "", t.status, f"{t.progress:g}", str(t.rows_done),
                      t.created_at.isoformat())
    console.print(table)
