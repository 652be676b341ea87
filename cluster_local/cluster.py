"""`LocalCluster`: start, inspect and stop a cluster on 127.0.0.1 (the CLI and tests/e2e use it).

State dir layout (default `.cluster/`, git-ignored):
    state.json                 what `status`/`down` and clients need: URLs, names, env
    specs/<instance_id>.json   one per node ever started (replacements included)
    control-plane.json         the control plane's spec; control-plane.ready when it is up
    credentials.json           the access key issued to clients (mode 0600); the router checks SigV4 with it
    pids/<name>.pid, logs/<name>.log, volumes/<volume_id>/   (a node's data directory: its "volume")
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import boto3
import httpx

from cluster_local import credentials, volumes
from cluster_local.config import HOST, REGION, ClusterConfig, NodeSpec, free_port
from cluster_local.control_plane import ControlPlaneSpec
from cluster_local.processes import ManagedProcess, http_ok
from contracts.api_keys import decode_secret, generate_api_key
from contracts.registry import GRAPH_REGISTRY, INSTANCE_REGISTRY, VOLUME_REGISTRY
from lambdas.common.aws import Registry
from node_api.core.backup.signing import FileKeySource

CONTROL_PLANE = "control-plane"
ROUTER = "router"
FUNCTIONS = {
    "allocator": "lambdas.allocator.handler:handler",
    "key-rotation": "lambdas.key_rotation.handler:handler",
    "instance-monitor": "lambdas.instance_monitor.handler:handler",
}

# Everything any process of the cluster gets: fake credentials, no metadata probing (never AWS).
SAFE_ENV = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


class LocalCluster:
    def __init__(self, config: ClusterConfig | None = None) -> None:
        self.config = (config or ClusterConfig()).resolved()
        self.state_dir = self.config.state_dir
        self.specs: list[NodeSpec] = []
        self.nodes: dict[str, ManagedProcess] = {}
        self.control_plane: ManagedProcess | None = None
        self.router: ManagedProcess | None = None
        self.function_arns: dict[str, str] = {}

    # --- names -------------------------------------------------------------------------------------
    def function_name(self, role: str) -> str:
        return f"graph-cluster-{self.config.environment}-{role}"

    @property
    def moto_url(self) -> str:
        return self.config.moto_url

    @property
    def router_url(self) -> str:
        return self.config.router_url

    @property
    def writers(self) -> list[NodeSpec]:
        return [s for s in self.specs if s.node_type == "writer" and not s.replaced_by]

    @property
    def shared_master(self) -> NodeSpec:
        return next(s for s in self.specs if s.node_type == "shared_master" and not s.replaced_by)

    @property
    def credentials_file(self) -> Path:
        return self.state_dir / "credentials.json"

    def spec(self, instance_id: str) -> NodeSpec:
        return next(s for s in self.specs if s.instance_id == instance_id)

    def aws_env(self) -> dict[str, str]:
        """Environment a process needs to reach this cluster's AWS (moto) and registries."""
        return {**SAFE_ENV, "AWS_ENDPOINT_URL": self.moto_url, "ENVIRONMENT": self.config.environment}

    def client_env(self) -> dict[str, str]:
        """What to export for `client.factory` and `graph-cli` to find graphs here: the router's URL and
        the access key the cluster issued (the router checks every signature against it)."""
        issued = credentials.first(self.credentials_file)
        return {**self.aws_env(), "GRAPH_ROUTER_URL": self.router_url,
                "AWS_ACCESS_KEY_ID": issued.access_key, "AWS_SECRET_ACCESS_KEY": issued.secret_key,
                "AWS_SESSION_TOKEN": "", "AWS_SECURITY_TOKEN": "",
                "GRAPH_CLIENT_ENVIRONMENT": self.config.environment,
                "GRAPH_CLIENT_AWS_ENDPOINT_URL": self.moto_url, "GRAPH_CLIENT_API_KEY": self.api_key()}

    def registry(self) -> Registry:
        db = boto3.resource("dynamodb", endpoint_url=self.moto_url, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing")
        env = self.config.environment
        return Registry(db=db, instances=db.Table(INSTANCE_REGISTRY.table_name(env)),
                        graphs=db.Table(GRAPH_REGISTRY.table_name(env)), volumes=db.Table(VOLUME_REGISTRY.table_name(env)))

    def boto(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.moto_url, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    # --- lifecycle ---------------------------------------------------------------------------------
    def up(self) -> LocalCluster:
        if (self.state_dir / "state.json").exists() and self._load().any_alive():
            raise RuntimeError(f"a cluster is already running from {self.state_dir} (scripts/cluster down)")
        shutil.rmtree(self.state_dir, ignore_errors=True)
        for sub in ("pids", "logs", "volumes", "specs"):
            (self.state_dir / sub).mkdir(parents=True, exist_ok=True)
        FileKeySource(self.backup_signing_key_file, create=True).load()  # one backup signing key per cluster
        self.specs = self.config.nodes()
        try:
            self._start_control_plane()
            credentials.issue(self.boto("iam"), f"graph-cluster-{self.config.environment}-client", self.credentials_file)
            self._start_router()
            registry = self.registry()
            for spec in self.config.nodes():
                volume_id = volumes.create(registry, self.state_dir, spec.instance_id, spec.tier,
                                           self.config.availability_zone)
                self._remember(replace(spec, volume_id=volume_id))
            for spec in self.specs:
                self.nodes[spec.instance_id] = self._node_process(spec).start()
            for spec in self.specs:
                self.wait_registered(spec.instance_id)
        except BaseException:
            self.down()
            raise
        self._save()
        return self

    def down(self) -> None:
        # No replacements from now on; nodes first, while the registry is still there to deregister from.
        (self.state_dir / "stopping").touch()
        self.refresh()  # replacements the control plane started are stopped too
        for process in self.nodes.values():
            process.stop()
        for service in (self.router, self.control_plane):
            if service is not None:
                service.stop()

    def any_alive(self) -> bool:
        others = [p for p in (self.control_plane, self.router) if p is not None]
        return any(p.alive() for p in [*self.nodes.values(), *others])

    @classmethod
    def attach(cls, state_dir: Path = Path(".cluster")) -> LocalCluster:
        """The cluster `up` started earlier (possibly from another process), from its state file."""
        return cls(ClusterConfig(state_dir=state_dir))._load()

    # --- nodes -------------------------------------------------------------------------------------
    @property
    def backup_signing_key_file(self) -> Path:
        """Shared by every node, so a backup restores on any node of the cluster."""
        return self.state_dir.resolve() / "backup-signing-key.json"

    def node_env(self, spec: NodeSpec) -> dict[str, str]:
        c = self.config
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith(("GRAPH_", "KUZU_", "AWS_"))},
            **self.aws_env(),
            "GRAPH_API_KEY": "",
            "GRAPH_API_KEY_SECRET_ID": c.secret_id,
            "GRAPH_API_KEY_ROTATION_WINDOW_SECONDS": str(c.rotation_window_s),
            "GRAPH_API_KEY_REFRESH_SECONDS": "30",
            "GRAPH_API_KEY_MISS_REFRESH_SECONDS": "0",
            "CLUSTER_REGISTRATION_ENABLED": "true",
            "GRAPH_BACKEND_TYPE": c.engine,
            "INSTANCE_ID": spec.instance_id,
            "KUZU_NODE_TYPE": spec.node_type,
            "WRITER_TIER": spec.tier,
            "KUZU_PORT": str(spec.port),
            "KUZU_HOST": HOST,
            "NODE_ADVERTISE_HOST": HOST,
            "NODE_HEARTBEAT_INTERVAL_SECONDS": str(c.heartbeat_interval_s),
            "KUZU_MAX_DATABASES_PER_NODE": str(c.max_databases),
            # Small engine footprints: several nodes share one laptop.
            "KUZU_MEMORY_PER_DB_MB": "128",
            "KUZU_MAX_DB_SIZE_GB": "16",
            "KUZU_THREADS_PER_DB": "1",
            "GRAPH_API_STAGING_MEMORY_LIMIT": "256MB",
            "GRAPH_API_STAGING_THREADS": "1",
            "GRAPH_API_BACKUP_S3_BUCKET": c.backup_bucket,
            "GRAPH_API_BACKUP_SIGNING_KEY_FILE": str(self.backup_signing_key_file),
            "LOG_LEVEL": "WARNING",
            **c.node_env,
        }

    def _node_process(self, spec: NodeSpec) -> ManagedProcess:
        base = volumes.volume_dir(self.state_dir, spec.volume_id)
        return ManagedProcess(
            name=spec.instance_id,
            args=["node_api", "--base-path", str(base), "--port", str(spec.port), "--node-type", spec.node_type],
            env=self.node_env(spec),
            log_path=self.state_dir / "logs" / f"{spec.instance_id}.log",
            pid_path=self.state_dir / "pids" / f"{spec.instance_id}.pid",
        )

    def start_node(self, instance_id: str, wait: bool = True) -> ManagedProcess:
        """(Re)start a node on its port and data directory, as a restarted machine would."""
        spec = self.spec(instance_id)
        process = self.nodes[instance_id] = self._node_process(spec).start()
        if wait:
            self.wait_registered(instance_id)
        return process

    def wait_registered(self, instance_id: str, timeout_s: float = 60.0) -> None:
        """The node answers and its registry row says healthy."""
        spec = self.spec(instance_id)
        live = http_ok(spec.url + "/status/live")
        table = self.boto("dynamodb")
        name = f"graph-cluster-{self.config.environment}-instance-registry"

        def ready() -> bool:
            if not live():
                return False
            item = table.get_item(TableName=name, Key={"instance_id": {"S": instance_id}}).get("Item")
            return bool(item) and item["status"]["S"] == "healthy"

        self.nodes[instance_id].wait_until(ready, timeout_s)

    def kill_node(self, instance_id: str) -> None:
        """SIGKILL, as an instance loss: no drain, no deregistration. The instance monitor declares the
        node dead after `dead_after_s` and the control plane boots a replacement that adopts its data."""
        self.nodes[instance_id].kill()

    def replace_dead_nodes(self) -> list[str]:
        """The local autoscaling group: every node the monitor declared dead gets a replacement, which
        adopts its data directory before it starts. Returns the new instance ids (the control plane
        process calls this on every tick; nothing else does)."""
        registry = self.registry()
        started = []
        for spec in list(self.specs):
            if spec.replaced_by:
                continue
            row = registry.instances.get_item(Key={"instance_id": spec.instance_id}).get("Item")
            if not row or row.get("status") != "dead":
                continue
            new = NodeSpec(self._next_instance_id(spec), spec.node_type, spec.tier, free_port())
            c = self.config
            volumes.preregister(registry, new.instance_id, new.node_type, new.tier, c.availability_zone, new.port,
                                c.max_databases)
            adopted = volumes.adopt(registry, new.instance_id, new.tier, c.availability_zone)
            volume_id = adopted[0] if adopted else volumes.create(
                registry, self.state_dir, new.instance_id, new.tier, c.availability_zone)
            new = replace(new, volume_id=volume_id)
            self._remember(new)
            self._remember(replace(spec, replaced_by=new.instance_id))
            self.nodes[new.instance_id] = self._node_process(new).start()
            started.append(new.instance_id)
        return started

    def _next_instance_id(self, dead: NodeSpec) -> str:
        stem = "local-writer" if dead.node_type == "writer" else "local-shared-master"
        taken = {s.instance_id for s in self.specs}
        return next(f"{stem}-{n}" for n in range(1, 10_000) if f"{stem}-{n}" not in taken)

    def _remember(self, spec: NodeSpec) -> None:
        """Record a node's spec (its own file: the control plane adds replacements concurrently)."""
        self.specs = [s for s in self.specs if s.instance_id != spec.instance_id] + [spec]
        path = self.state_dir / "specs" / f"{spec.instance_id}.json"
        path.with_suffix(".tmp").write_text(json.dumps(asdict(spec)))
        path.with_suffix(".tmp").replace(path)

    def pause_node(self, instance_id: str) -> None:
        """SIGSTOP: the process holds its port but answers nothing (a hung machine)."""
        self.nodes[instance_id].signal(signal.SIGSTOP)

    def resume_node(self, instance_id: str) -> None:
        self.nodes[instance_id].signal(signal.SIGCONT)

    # --- control plane -----------------------------------------------------------------------------
    def _start_router(self) -> None:
        """The router API (the Lambda's FastAPI app) under uvicorn, checking SigV4 itself."""
        c = self.config
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ROUTER_"))},
            **self.aws_env(),
            "ROUTER_AUTH_MODE": "sigv4", "ROUTER_CREDENTIALS_FILE": str(self.credentials_file),
            "ROUTER_DEFAULT_TIER": c.writer_tier, "ROUTER_SHARED_TIER": c.shared_tier,
        }
        self.router = ManagedProcess(
            name=ROUTER, args=["lambdas.router_api", "--host", HOST, "--port", str(c.router_port)], env=env,
            log_path=self.state_dir / "logs" / f"{ROUTER}.log", pid_path=self.state_dir / "pids" / f"{ROUTER}.pid",
        ).start()
        self.router.wait_until(http_ok(self.router_url + "/health"), timeout_s=60)

    def _start_control_plane(self) -> None:
        c = self.config
        ready = self.state_dir / "control-plane.ready"
        spec = ControlPlaneSpec(
            port=c.moto_port, environment=c.environment, secret_id=c.secret_id,
            initial_api_key=generate_api_key(), buckets=[c.bucket, c.backup_bucket],
            functions={self.function_name(role): target for role, target in FUNCTIONS.items()},
            monitor_function=self.function_name("instance-monitor"), monitor_interval_s=c.monitor_interval_s,
            ready_file=str(ready), state_dir=str(self.state_dir),
        )
        spec_path = self.state_dir / "control-plane.json"
        spec_path.write_text(spec.model_dump_json())
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            **self.aws_env(),
            "HEARTBEAT_TIMEOUT_SECONDS": str(c.heartbeat_timeout_s),
            "DEAD_AFTER_SECONDS": str(c.dead_after_s),
            "HEALTH_CHECK_TIMEOUT_SECONDS": str(c.health_check_timeout_s),
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
        self.control_plane = ManagedProcess(
            name=CONTROL_PLANE, args=["cluster_local.control_plane", str(spec_path)], env=env,
            log_path=self.state_dir / "logs" / f"{CONTROL_PLANE}.log",
            pid_path=self.state_dir / "pids" / f"{CONTROL_PLANE}.pid",
        ).start()
        self.control_plane.wait_until(ready.exists, timeout_s=60)
        self.function_arns = json.loads(ready.read_text())["function_arns"]

    # --- control-plane operations (the Lambdas, invoked through moto) -------------------------------
    def invoke(self, role: str, event: dict[str, Any]) -> dict[str, Any]:
        response = self.boto("lambda").invoke(FunctionName=self.function_name(role), Payload=json.dumps(event))
        return json.loads(response["Payload"].read())

    def allocate(self, graph_id: str, entity_id: str | None = None, repository_type: str = "entity",
                 tier: str | None = None) -> dict[str, Any]:
        tier = tier or (self.config.shared_tier if repository_type == "shared" else self.config.writer_tier)
        return self.invoke("allocator", {"action": "allocate", "graph_id": graph_id,
                                         "entity_id": entity_id or graph_id, "tier": tier,
                                         "repository_type": repository_type})

    def route(self, graph_id: str) -> dict[str, Any]:
        return self.invoke("allocator", {"action": "route", "graph_id": graph_id})

    def release(self, graph_id: str) -> dict[str, Any]:
        return self.invoke("allocator", {"action": "release", "graph_id": graph_id})

    def monitor(self) -> dict[str, Any]:
        from cluster_local.control_plane import SCHEDULED_EVENT

        return self.invoke("instance-monitor", dict(SCHEDULED_EVENT))

    def api_key(self) -> str:
        secret = self.boto("secretsmanager").get_secret_value(SecretId=self.config.secret_id)
        return decode_secret(secret["SecretString"])

    def rotate_key(self) -> str:
        """Secrets Manager's rotation, which invokes the key-rotation Lambda (all four steps)."""
        self.boto("secretsmanager").rotate_secret(
            SecretId=self.config.secret_id, RotationLambdaARN=self.function_arns[self.function_name("key-rotation")],
            RotationRules={"AutomaticallyAfterDays": 90}, RotateImmediately=True,
        )
        return self.api_key()

    def registry_rows(self) -> dict[str, list[dict[str, Any]]]:
        dynamodb = boto3.resource("dynamodb", endpoint_url=self.moto_url, region_name=REGION,
                                  aws_access_key_id="testing", aws_secret_access_key="testing")
        env = self.config.environment
        return {name: dynamodb.Table(f"graph-cluster-{env}-{name}").scan()["Items"]
                for name in ("instance-registry", "graph-registry")}

    # --- state file --------------------------------------------------------------------------------
    def _save(self) -> None:
        state = {"config": {**asdict(self.config), "state_dir": str(self.state_dir)}, "function_arns": self.function_arns}
        (self.state_dir / "state.json").write_text(json.dumps(state, indent=2))

    def _load(self) -> LocalCluster:
        state = json.loads((self.state_dir / "state.json").read_text())
        config = dict(state["config"])
        config["state_dir"] = Path(config["state_dir"])
        self.config = ClusterConfig(**config)
        self.specs = self._specs_on_disk()
        self.function_arns = state["function_arns"]
        self.nodes = {s.instance_id: self._node_process(s) for s in self.specs}
        self.control_plane = ManagedProcess(
            name=CONTROL_PLANE, args=["cluster_local.control_plane", str(self.state_dir / "control-plane.json")],
            env={}, log_path=self.state_dir / "logs" / f"{CONTROL_PLANE}.log",
            pid_path=self.state_dir / "pids" / f"{CONTROL_PLANE}.pid",
        )
        self.router = ManagedProcess(
            name=ROUTER, args=["lambdas.router_api", "--host", HOST, "--port", str(self.config.router_port)],
            env={}, log_path=self.state_dir / "logs" / f"{ROUTER}.log", pid_path=self.state_dir / "pids" / f"{ROUTER}.pid",
        )
        return self

    def refresh(self) -> LocalCluster:
        """Pick up the nodes the control plane started (replacements) and their predecessors' fate."""
        if (self.state_dir / "specs").is_dir():
            self.specs = self._specs_on_disk()
            for spec in self.specs:
                self.nodes.setdefault(spec.instance_id, self._node_process(spec))
        return self

    def _specs_on_disk(self) -> list[NodeSpec]:
        files = (self.state_dir / "specs").glob("*.json")
        return sorted((NodeSpec(**json.loads(f.read_text())) for f in files),
                      key=lambda s: (s.node_type != "writer", len(s.instance_id), s.instance_id))

    def where(self, graph_id: str) -> Any:
        """The router's answer for `graph_id` (contracts.router.GraphRoute), signed with the issued key."""
        from client.config import ClientConfig
        from client.router_api import RouterClient

        router = RouterClient(ClientConfig(router_url=self.router_url, max_attempts=2),
                              credentials=credentials.first(self.credentials_file))
        try:
            return router.route(graph_id)
        finally:
            router.close()

    def status(self) -> dict[str, Any]:
        """Processes, their HTTP answers and the registry's view of them."""
        self.refresh()
        nodes = []
        rows: dict[str, list[dict[str, Any]]] = {"instance-registry": [], "graph-registry": []}
        cp_alive = bool(self.control_plane and self.control_plane.alive())
        if cp_alive:
            try:
                rows = self.registry_rows()
            except Exception:  # noqa: BLE001 - status must still print what it can
                pass
        registered = {r["instance_id"]: r for r in rows["instance-registry"]}
        for spec in self.specs:
            try:
                ready = httpx.get(spec.url + "/status", timeout=2, trust_env=False).status_code
            except httpx.HTTPError:
                ready = None
            row = registered.get(spec.instance_id, {})
            nodes.append({
                "instance_id": spec.instance_id, "node_type": spec.node_type, "tier": spec.tier, "url": spec.url,
                "volume_id": spec.volume_id, "replaced_by": spec.replaced_by,
                "process": "running" if self.nodes[spec.instance_id].alive() else "stopped",
                "http_status": ready, "registry_status": row.get("status"),
                "graphs": int(row.get("database_count", 0)) if row else None,
            })
        router_alive = bool(self.router and self.router.alive())
        return {"control_plane": {"url": self.moto_url, "process": "running" if cp_alive else "stopped"},
                "router": {"url": self.router_url, "process": "running" if router_alive else "stopped"},
                "nodes": nodes, "graphs": [{"graph_id": g["graph_id"], "instance_id": g["instance_id"],
                                            "status": g["status"]} for g in rows["graph-registry"]]}
