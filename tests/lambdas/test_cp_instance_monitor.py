"""Instance monitor: heartbeats, HTTP health checks against real sockets on 127.0.0.1, terminations."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from contracts.registry import iso, utc_now
from lambdas.allocator.handler import handler as allocator
from lambdas.instance_monitor.handler import handler
from tests.support.ports import free_port

SCHEDULED = {
    "version": "0",
    "id": "1",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2024-01-01T00:00:00Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {},
}


def state_change(instance_id: str, state: str) -> dict[str, Any]:
    return {
        **SCHEDULED,
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "detail": {"instance-id": instance_id, "state": state},
    }


class _Status(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = b'{"status": "healthy"}'
        self.send_response(200 if self.path == "/status" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def live_port() -> Iterator[int]:
    """A node-like /status endpoint on 127.0.0.1."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Status)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def dead_port() -> int:
    """A port nobody listens on."""
    return free_port()


def status(aws: Any, table: str, key: str, value: str) -> str:
    item = getattr(aws.registry, table).get_item(Key={key: value}).get("Item")
    return item["status"] if item else "<deleted>"


def place(ctx: Any, graph_id: str) -> str:
    result = allocator({"action": "allocate", "graph_id": graph_id, "entity_id": "e"}, ctx)
    assert result["ok"], result
    return result["route"]["instance_id"]


def test_stale_heartbeat_marks_unhealthy_and_flags_graphs(
    aws, put_instance, lambda_context, topic, reconfigure, live_port
):
    arn, messages = topic("alerts")
    reconfigure(ALERT_TOPIC_ARN=arn, HEARTBEAT_TIMEOUT_SECONDS="90")
    put_instance(
        "local-a",
        private_ip="127.0.0.1",
        port=live_port,
        last_heartbeat=iso(utc_now() - timedelta(seconds=91)),
    )
    assert place(lambda_context, "kg1") == "local-a"
    put_instance("local-b", private_ip="127.0.0.1", port=live_port)
    assert place(lambda_context, "kg2") == "local-b"  # 10 free slots beat local-a's 9

    result = handler(SCHEDULED, lambda_context)

    assert result["ok"] and result["unhealthy"] == ["local-a"] and result["flagged_graphs"] == ["kg1"]
    assert status(aws, "instances", "instance_id", "local-a") == "unhealthy"
    assert status(aws, "instances", "instance_id", "local-b") == "healthy"
    assert status(aws, "graphs", "graph_id", "kg1") == "unavailable"
    assert status(aws, "graphs", "graph_id", "kg2") == "active"
    assert allocator({"action": "route", "graph_id": "kg1"}, lambda_context)["error"]["code"] == "unavailable"
    [alert] = messages()
    assert (
        alert["event"] == "instance_unhealthy"
        and alert["graphs"] == ["kg1"]
        and "heartbeat" in alert["reason"]
    )


def test_failed_health_check_marks_unhealthy_and_recovery_restores(
    aws, put_instance, lambda_context, live_port, dead_port
):
    put_instance("local-up", private_ip="127.0.0.1", port=live_port)
    put_instance("local-down", private_ip="127.0.0.1", port=dead_port)
    put_instance("local-booting", private_ip="127.0.0.1", port=dead_port, status="initializing")
    place(lambda_context, "kg1")

    result = handler(SCHEDULED, lambda_context)
    assert result["unhealthy"] == ["local-down"]
    assert status(aws, "instances", "instance_id", "local-booting") == "initializing"
    graph_home = aws.registry.graphs.get_item(Key={"graph_id": "kg1"})["Item"]["instance_id"]

    # The node comes back on the port that answers: the next pass restores it and its graphs.
    aws.registry.instances.update_item(
        Key={"instance_id": "local-down"},
        UpdateExpression="SET port = :p",
        ExpressionAttributeValues={":p": live_port},
    )
    again = handler(SCHEDULED, lambda_context)
    assert again["recovered"] == ["local-down"]
    assert status(aws, "instances", "instance_id", "local-down") == "healthy"
    assert status(aws, "graphs", "graph_id", "kg1") == "active" and graph_home


def test_terminated_instance_is_cleaned_up(aws, put_instance, volume, lambda_context, topic, reconfigure):
    arn, messages = topic("alerts")
    reconfigure(ALERT_TOPIC_ARN=arn, HEALTH_CHECK_ENABLED="false")
    ec2 = aws.client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    iid = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    put_instance(iid)
    place(lambda_context, "kg1")
    vid = volume(10, database_id="kg1", instance_id=iid)
    assert handler(SCHEDULED, lambda_context)["terminated"] == []  # running: nothing to do

    ec2.terminate_instances(InstanceIds=[iid])
    result = handler(state_change(iid, "terminated"), lambda_context)

    assert result["terminated"] == [iid] and result["flagged_graphs"] == ["kg1"]
    assert status(aws, "instances", "instance_id", iid) == "<deleted>"
    assert status(aws, "graphs", "graph_id", "kg1") == "orphaned"
    volume = aws.registry.volumes.get_item(Key={"volume_id": vid})["Item"]
    assert volume["status"] == "available" and "instance_id" not in volume
    [alert] = messages()
    assert alert["event"] == "instance_terminated" and alert["volumes"] == [vid]
    # The orphaned graph can still be released (no slot to free any more).
    assert allocator({"action": "release", "graph_id": "kg1"}, lambda_context)["ok"] is True


def test_instance_unknown_to_ec2_counts_as_terminated(aws, put_instance, lambda_context, reconfigure):
    reconfigure(HEALTH_CHECK_ENABLED="false")
    put_instance("i-0123456789abcdef0")
    assert handler(SCHEDULED, lambda_context)["terminated"] == ["i-0123456789abcdef0"]


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"detail-type": "Scheduled Event"},
        state_change("not-an-id", "terminated"),
        state_change("i-0abc", "exploded"),
    ],
)
def test_malformed_events_are_rejected(aws, put_instance, lambda_context, event):
    put_instance("local-a", last_heartbeat=iso(utc_now() - timedelta(hours=1)))
    assert handler(event, lambda_context)["error"]["code"] == "invalid_request"
    assert status(aws, "instances", "instance_id", "local-a") == "healthy"
