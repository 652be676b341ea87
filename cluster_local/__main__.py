"""`python -m cluster_local COMMAND` (wrapped by `scripts/cluster`): up, down, status, env, where, kill,
allocate, rotate-key, monitor."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Annotated

import typer

from cluster_local.cluster import LocalCluster
from cluster_local.config import ClusterConfig

cli = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="A graph cluster on 127.0.0.1: moto control plane, writer nodes and a shared master.")
StateDir = Annotated[Path, typer.Option(help="Where pids, logs, node data and state.json live.")]


@cli.command()
def up(
    state_dir: StateDir = Path(".cluster"),
    writers: Annotated[int, typer.Option(min=1, help="Writer nodes (plus one shared master).")] = 2,
    moto_port: Annotated[int, typer.Option(help="Control plane (moto) port; 0 = a free one.")] = 0,
    node_base_port: Annotated[int, typer.Option(help="First node port (consecutive); 0 = free ones.")] = 0,
    monitor_interval: Annotated[float, typer.Option(help="Seconds between instance-monitor passes; 0 = off.")] = 5.0,
    dead_after: Annotated[int, typer.Option(help="Seconds of silence before a node is declared dead and replaced.")] = 20,
    router_port: Annotated[int, typer.Option(help="Router API port; 0 = a free one.")] = 0,
    engine: Annotated[str, typer.Option(help="Embedded engine of every node: ladybug or kuzu.")] = "ladybug",
) -> None:
    """Start the control plane, the router API and the nodes; wait until every node is registered healthy."""
    if engine not in ("ladybug", "kuzu"):
        raise typer.BadParameter("--engine is ladybug or kuzu")
    config = ClusterConfig(state_dir=state_dir, writers=writers, moto_port=moto_port,
                           node_base_port=node_base_port, monitor_interval_s=monitor_interval,
                           dead_after_s=dead_after, router_port=router_port, engine=engine)
    cluster = LocalCluster(config).up()
    _describe(cluster)


@cli.command()
def down(state_dir: StateDir = Path(".cluster")) -> None:
    """Stop the nodes (they deregister), then the control plane."""
    if not (state_dir / "state.json").exists():
        typer.echo(f"no cluster state in {state_dir}")
        return
    LocalCluster.attach(state_dir).down()
    typer.echo("cluster stopped")


@cli.command()
def status(state_dir: StateDir = Path(".cluster"),
           as_json: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False) -> None:
    """Processes, readiness and registry status of every node; placed graphs."""
    report = LocalCluster.attach(state_dir).status()
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    typer.echo(f"control plane {report['control_plane']['url']}: {report['control_plane']['process']}")
    typer.echo(f"router API    {report['router']['url']}: {report['router']['process']}")
    for n in report["nodes"]:
        replaced = f" replaced_by={n['replaced_by']}" if n["replaced_by"] else ""
        typer.echo(f"  {n['instance_id']:<20} {n['node_type']:<13} {n['url']:<24} process={n['process']} "
                   f"http={n['http_status']} registry={n['registry_status']} graphs={n['graphs']}{replaced}")
    for g in report["graphs"]:
        typer.echo(f"  graph {g['graph_id']} on {g['instance_id']} ({g['status']})")


def export_lines(env: dict[str, str]) -> list[str]:
    """`env` as shell `export` lines, after a comment (harmless under eval) saying that they replace the
    shell's AWS settings with the local moto's, and how to undo that."""
    aws = sorted(k for k in env if k.startswith("AWS_"))
    return [
        f"# replaces this shell's {', '.join(aws)} with the local cluster's (moto on 127.0.0.1, fake "
        f"credentials): aws and boto3 in this shell then talk to moto, not AWS; undo: a new shell, or "
        f"unset {' '.join(sorted(env))}",
        *(f"export {key}={shlex.quote(value)}" for key, value in env.items()),
    ]


@cli.command()
def env(state_dir: StateDir = Path(".cluster")) -> None:
    """`export` lines for the client factory and CLI (eval "$(scripts/cluster env)"), after a comment:
    they replace the shell's AWS settings with the local moto's."""
    for line in export_lines(LocalCluster.attach(state_dir).client_env()):
        typer.echo(line)


@cli.command()
def where(graph_id: str, state_dir: StateDir = Path(".cluster")) -> None:
    """Print the name of the node that holds a graph (as the router API says); exit 1 if none."""
    from client.exceptions import GraphClientError

    try:
        route = LocalCluster.attach(state_dir).where(graph_id)
    except GraphClientError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if route.instance_id is None:
        typer.echo(f"{graph_id} is on no node ({route.status})", err=True)
        raise typer.Exit(1)
    if route.writer is None:
        typer.echo(f"{graph_id}: {route.status} (not served yet)", err=True)
    typer.echo(route.instance_id)


@cli.command()
def kill(node: str, state_dir: StateDir = Path(".cluster")) -> None:
    """Kill a node's process as an instance loss would (SIGKILL: no drain, no deregistration)."""
    cluster = LocalCluster.attach(state_dir)
    if node not in cluster.nodes:
        typer.echo(f"error: no node {node!r} (scripts/cluster status lists them)", err=True)
        raise typer.Exit(1)
    cluster.kill_node(node)
    typer.echo(f"killed {node}; the instance monitor declares it dead after {cluster.config.dead_after_s} s "
               "of silence, then a replacement node adopts its data directory")


@cli.command()
def allocate(graph_id: str, state_dir: StateDir = Path(".cluster"),
             shared: Annotated[bool, typer.Option(help="A shared repository (on the shared master).")] = False,
             entity_id: Annotated[str | None, typer.Option(help="Owner; defaults to the graph id.")] = None) -> None:
    """Place a graph through the allocator Lambda; prints its route."""
    result = LocalCluster.attach(state_dir).allocate(graph_id, entity_id, "shared" if shared else "entity")
    typer.echo(json.dumps(result, indent=2))


@cli.command("rotate-key")
def rotate_key(state_dir: StateDir = Path(".cluster")) -> None:
    """Rotate the API key through Secrets Manager and the key-rotation Lambda; prints the new key."""
    typer.echo(LocalCluster.attach(state_dir).rotate_key())


@cli.command()
def monitor(state_dir: StateDir = Path(".cluster")) -> None:
    """One instance-monitor pass now; prints its report."""
    typer.echo(json.dumps(LocalCluster.attach(state_dir).monitor(), indent=2))


def _describe(cluster: LocalCluster) -> None:
    key = cluster.api_key()
    typer.echo(f"control plane (moto: DynamoDB, S3, Secrets Manager, IAM, Lambda): {cluster.moto_url}")
    typer.echo(f"router API (SigV4 with the issued key): {cluster.router_url}")
    for spec in cluster.specs:
        typer.echo(f"  {spec.instance_id:<20} {spec.node_type:<13} tier={spec.tier:<9} {spec.url}")
    typer.echo(f"API key (X-Graph-API-Key): {key}")
    typer.echo(f"S3 bucket for ingestion: s3://{cluster.config.bucket}/   backups: s3://{cluster.config.backup_bucket}/")
    typer.echo(f"logs and data: {cluster.state_dir}/")
    typer.echo('\nFor the client factory and graph-cli (routed through the router API):\n  eval "$(scripts/cluster env)"')
    # One command per line: a list joined with "|" would read as a shell pipeline.
    typer.echo("\nTry:")
    for hint in (
        f"curl -s {cluster.router_url}/health",
        ".venv/bin/graph-cli create kg1a2b3c4d5",
        "scripts/cluster where kg1a2b3c4d5",
        "scripts/cluster kill local-writer-1",
        "scripts/cluster status",
        "scripts/cluster rotate-key",
        "scripts/cluster down",
    ):
        typer.echo(f"  {hint}")


if __name__ == "__main__":
    cli()
