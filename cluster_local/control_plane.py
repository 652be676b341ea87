"""The control plane of a local cluster, as one process: `python -m cluster_local.control_plane SPEC`.

- moto's server on 127.0.0.1 (DynamoDB, S3, Secrets Manager, Lambda, IAM, SNS);
- the registries, buckets, the API-key secret and the Lambda functions, created at start;
- the Lambda handlers of `lambdas/` run in this process whenever moto invokes one of those
  functions (Secrets Manager's rotation included), each against moto over HTTP like the real ones;
- the instance monitor every `monitor_interval_s` (EventBridge's schedule), when that is > 0, and
  the local autoscaling group: a node the monitor declared dead is replaced by a new node process that
  adopts its data directory (LocalCluster.replace_dead_nodes).

SPEC is a JSON file written by `LocalCluster` (see `ControlPlaneSpec`). The process writes
`ready_file` once everything exists, and stops cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from cluster_local.config import HOST, REGION

Handler = Callable[[dict[str, Any], Any], Any]

SCHEDULED_EVENT = {
    "version": "0", "id": "local-schedule", "detail-type": "Scheduled Event", "source": "aws.events",
    "account": "123456789012", "time": "2024-01-01T00:00:00Z", "region": REGION,
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/local-instance-monitor"], "detail": {},
}


class ControlPlaneSpec(BaseModel):
    port: int
    environment: str
    secret_id: str
    initial_api_key: str
    buckets: list[str]
    functions: dict[str, str]  # Lambda function name -> "module:handler"
    monitor_function: str | None = None
    monitor_interval_s: float = 0.0
    ready_file: str
    # The cluster's state dir: the local autoscaling group replaces dead nodes from it (each monitor tick).
    state_dir: str | None = None


class LambdaContext:
    """The attributes Powertools reads from a Lambda context."""

    memory_limit_in_mb = 256
    aws_request_id = "local"

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def _load(target: str) -> Handler:
    module, _, name = target.partition(":")
    return getattr(__import__(module, fromlist=[name]), name)


def route_lambda_invocations(functions: dict[str, str]) -> None:
    """Make moto's simple Lambda backend run our handlers in this process instead of a container."""
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.core.config import default_user_config

    default_user_config["lambda"]["use_docker"] = False
    handlers = {name: _load(target) for name, target in functions.items()}

    def invoke(self: Any, function_name: str, qualifier: Any, body: Any, headers: Any,
               response_headers: Any) -> bytes:
        name = function_name.rsplit(":", 1)[-1] if function_name.startswith("arn:") else function_name
        handler = handlers[name]
        event = json.loads(body) if body else {}
        return json.dumps(handler(event, LambdaContext(name)), default=str).encode()

    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]


class SerializedDynamoDB:
    """WSGI wrapper: one DynamoDB request at a time.

    moto's DynamoDB is not thread-safe (a cancelled TransactWriteItems restores deep copies of the
    tables, erasing writes other threads made meanwhile; docs/control-plane.md). Serializing gives
    DynamoDB's per-request atomicity. Only DynamoDB: a Lambda invocation calls back into this server
    (Secrets Manager, DynamoDB), so a global lock would deadlock.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with self.lock:
            return list(self.app(environ, start_response))  # the body is built under the lock too


def serve(port: int) -> Any:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    app = SerializedDynamoDB(DomainDispatcherApplication(create_backend_app))
    server = make_server(HOST, port, app, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, name="moto", daemon=True).start()
    return server


def bootstrap(spec: ControlPlaneSpec) -> dict[str, str]:
    """Registries, buckets, the key secret and the Lambda functions. Returns function name -> ARN."""
    import boto3

    from contracts.api_keys import encode_secret
    from contracts.registry import create_tables

    url = f"http://{HOST}:{spec.port}"

    def client(name: str) -> Any:
        return boto3.client(name, endpoint_url=url, region_name=REGION)

    create_tables(client("dynamodb"), spec.environment)
    s3 = client("s3")
    for bucket in spec.buckets:
        s3.create_bucket(Bucket=bucket)
    client("secretsmanager").create_secret(Name=spec.secret_id, SecretString=encode_secret(spec.initial_api_key))
    role = client("iam").create_role(RoleName="graph-cluster-local-lambda", AssumeRolePolicyDocument="{}")
    lam = client("lambda")
    arns = {}
    for name, target in spec.functions.items():
        created = lam.create_function(
            FunctionName=name, Runtime="python3.12", Role=role["Role"]["Arn"], Handler=target.replace(":", "."),
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},  # an empty zip: the code runs in this process
        )
        arns[name] = created["FunctionArn"]
    return arns


def run_monitor(spec: ControlPlaneSpec, stop: threading.Event) -> None:
    if not spec.monitor_function or spec.monitor_interval_s <= 0:
        return
    handler = _load(spec.functions[spec.monitor_function])
    while not stop.wait(spec.monitor_interval_s):
        try:
            handler(dict(SCHEDULED_EVENT), LambdaContext(spec.monitor_function))
        except Exception as exc:  # noqa: BLE001 - a failed pass is retried on the next tick, like EventBridge
            print(f"instance monitor failed: {exc!r}", file=sys.stderr, flush=True)


def run_replacer(spec: ControlPlaneSpec, stop: threading.Event) -> None:
    """The local autoscaling group: after each monitor tick, dead nodes get replacements that adopt
    their data (cluster_local.cluster.LocalCluster.replace_dead_nodes)."""
    if not spec.state_dir or spec.monitor_interval_s <= 0:
        return
    from cluster_local.cluster import LocalCluster

    state_dir = Path(spec.state_dir)
    while not stop.wait(spec.monitor_interval_s):
        if not (state_dir / "state.json").exists() or (state_dir / "stopping").exists():
            continue
        try:
            started = LocalCluster.attach(state_dir).replace_dead_nodes()
        except Exception as exc:  # noqa: BLE001 - retried on the next tick
            print(f"node replacement failed: {exc!r}", file=sys.stderr, flush=True)
            continue
        for instance_id in started:
            print(f"replacement node {instance_id} started", flush=True)


def main(spec_path: str) -> None:
    spec = ControlPlaneSpec.model_validate_json(Path(spec_path).read_text())
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    route_lambda_invocations(spec.functions)
    server = serve(spec.port)
    arns = bootstrap(spec)
    ready = Path(spec.ready_file)
    ready.with_suffix(".tmp").write_text(json.dumps({"function_arns": arns}))
    ready.with_suffix(".tmp").replace(ready)  # atomic: a reader never sees half a file
    print(f"control plane ready on http://{HOST}:{spec.port}", flush=True)
    monitor = threading.Thread(target=run_monitor, args=(spec, stop), name="instance-monitor", daemon=True)
    monitor.start()
    threading.Thread(target=run_replacer, args=(spec, stop), name="node-replacer", daemon=True).start()
    stop.wait()
    server.shutdown()


if __name__ == "__main__":
    main(sys.argv[1])
