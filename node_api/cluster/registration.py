"""The node's entry in the instance registry: register on start (initializing -> healthy), heartbeat
while running, deregister on stop.

`database_count` on the row belongs to the allocator (its conditional counter guarantees capacity),
so the node never writes it: the heartbeat reports what is actually open as `reported_database_count`.
blocking boto3 calls run in a worker thread so the event loop never stalls.

Failover: the first healthy report stamps `ready_at` (only a node that has served can be declared
dead). A node whose row says `dead` has been replaced: its graphs belong to the node that adopted its
volume. Its heartbeat then never revives the row; it calls `on_fenced` (the app stops serving) instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from contracts.enums import InstanceStatus
from contracts.registry import now_iso
from node_api.cluster.settings import ClusterSettings

log = structlog.get_logger(__name__)


class NodeRegistration:
    def __init__(
        self,
        settings: ClusterSettings,
        database_count: Callable[[], int],
        *,
        table: Any | None = None,
        ready: Callable[[], Awaitable[None]] | None = None,
        on_fenced: Callable[[], None] | None = None,
    ) -> None:
        """`database_count` returns how many databases the node holds; `ready` (optional) is awaited
        between registering as initializing and announcing healthy (e.g. volume mounted, backend up);
        `on_fenced` is called (from a worker thread) once the registry says this node is dead."""
        self.settings = settings
        self._database_count = database_count
        self._ready = ready
        self._on_fenced = on_fenced
        self.fenced = False
        self._table = table
        self._task: asyncio.Task[None] | None = None

    @property
    def instance_id(self) -> str:
        return self.settings.instance_id

    @property
    def table(self) -> Any:
        if self._table is None:
            import boto3

            resource = boto3.resource(
                "dynamodb", region_name=self.settings.region, endpoint_url=self.settings.aws_endpoint_url
            )
            self._table = resource.Table(self.settings.instance_table_name)
        return self._table

    async def start(self) -> None:
        await asyncio.to_thread(self._register, InstanceStatus.INITIALIZING)
        if self._ready is not None:
            await self._ready()
        await asyncio.to_thread(self._set_status, InstanceStatus.HEALTHY)
        self._task = asyncio.create_task(self._heartbeat_loop(), name="registry-heartbeat")
        log.info("node registered", instance_id=self.instance_id, tier=self.settings.tier)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await asyncio.to_thread(self._deregister)

    async def heartbeat(self) -> None:
        await asyncio.to_thread(self._heartbeat)

    # --- blocking parts ----------------------------------------------------------------------------
    def _register(self, status: InstanceStatus) -> None:
        # An upsert: a restarted node keeps its created_at and the allocator's database_count. Never over
        # a dead row: that instance was replaced and its data adopted by another node.
        client = self.table.meta.client
        try:
            self._upsert(status)
        except client.exceptions.ConditionalCheckFailedException:
            self.fenced = True
            raise RuntimeError(f"instance {self.instance_id} was declared dead and replaced; start a new node") from None

    def _upsert(self, status: InstanceStatus) -> None:
        s = self.settings
        now = now_iso()
        self.table.update_item(
            Key={"instance_id": s.instance_id},
            UpdateExpression=(
                "SET cluster_tier = :tier, node_type = :type, private_ip = :ip, port = :port, "
                "max_databases = :max, #s = :status, last_heartbeat = :now, reported_database_count = :count, "
                "created_at = if_not_exists(created_at, :now), database_count = if_not_exists(database_count, :zero) "
                "REMOVE status_reason"
            ),
            ConditionExpression="attribute_not_exists(instance_id) OR #s <> :dead",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":dead": str(InstanceStatus.DEAD),
                ":tier": s.tier,
                ":type": str(s.node_type),
                ":ip": s.advertise_host,
                ":port": s.port,
                ":max": s.max_databases,
                ":status": str(status),
                ":now": now,
                ":count": self._database_count(),
                ":zero": 0,
            },
        )

    def _set_status(self, status: InstanceStatus) -> None:
        ready = ", ready_at = if_not_exists(ready_at, :now)" if status == InstanceStatus.HEALTHY else ""
        self.table.update_item(
            Key={"instance_id": self.instance_id},
            UpdateExpression="SET #s = :status, last_heartbeat = :now" + ready,
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":status": str(status), ":now": now_iso()},
        )

    def _heartbeat(self) -> None:
        if self.fenced:
            return
        client = self.table.meta.client
        try:
            self.table.update_item(
                Key={"instance_id": self.instance_id},
                UpdateExpression="SET last_heartbeat = :now, reported_database_count = :count",
                ConditionExpression="attribute_exists(instance_id) AND #s <> :dead",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":now": now_iso(), ":count": self._database_count(),
                                           ":dead": str(InstanceStatus.DEAD)},
            )
        except client.exceptions.ConditionalCheckFailedException:
            row = self.table.get_item(Key={"instance_id": self.instance_id}, ConsistentRead=True).get("Item")
            if row is not None and row.get("status") == InstanceStatus.DEAD:
                self._fence(str(row.get("status_reason", "declared dead")))
                return
            # The monitor removed us (e.g. mistaken for terminated): come back as a fresh node.
            log.warning("registry row missing, registering again", instance_id=self.instance_id)
            self._register(InstanceStatus.HEALTHY)
            self._set_status(InstanceStatus.HEALTHY)

    def _fence(self, reason: str) -> None:
        # Another node has adopted this node's data: serving on would answer from a stale copy.
        self.fenced = True
        log.error("the registry declared this node dead; it stops serving", instance_id=self.instance_id,
                  reason=reason)
        if self._on_fenced is not None:
            self._on_fenced()

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_interval_s)
            try:
                await asyncio.to_thread(self._heartbeat)
            except Exception as exc:  # a missed beat is retried next interval; the monitor has slack
                log.warning("heartbeat failed", instance_id=self.instance_id, error=str(exc))

    def _deregister(self) -> None:
        if self.fenced:
            return  # the dead row stays: it is the control plane's record of the failover
        client = self.table.meta.client
        try:
            # Only an empty node disappears: graphs placed here must stay routable to their owner.
            self.table.delete_item(
                Key={"instance_id": self.instance_id},
                ConditionExpression="attribute_not_exists(instance_id) OR database_count = :zero",
                ExpressionAttributeValues={":zero": 0},
            )
        except client.exceptions.ConditionalCheckFailedException:
            self._set_status(InstanceStatus.STOPPED)
        log.info("node deregistered", instance_id=self.instance_id)
