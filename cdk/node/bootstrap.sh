#!/usr/bin/env bash
# First boot of a graph node (run once by cloud-init from the launch template's user data).
# Settings come from /etc/graph-node/node.env, written by the user data from the CDK stack.
#   1. register the instance in the instance registry (status initializing)
#   2. ask the volume manager Lambda to adopt a dead node's data volume in this zone (failover), else
#      for a new one; format it (first use only) and mount it
#   3. install the node API from the stack's S3 bundle and start it as a systemd service (no Docker);
#      the node API itself then registers as healthy, heartbeats, reads the API key from Secrets Manager
#      (GRAPH_API_KEY_SECRET_ID, refreshed across rotations) and publishes its volume usage
#   4. once /status answers: let the launch lifecycle hook continue
# Any failure abandons the launch hook, so the autoscaling group replaces the instance.
set -euo pipefail
exec > >(tee -a /var/log/graph-node-bootstrap.log) 2>&1

source /opt/graph-node/bin/common.sh
load_settings

abandon() {
  echo "bootstrap failed at line $1; abandoning launch"
  INSTANCE_ID=${INSTANCE_ID:-$(imds instance-id)}
  registry_set_status unhealthy "bootstrap failed" || true
  complete_lifecycle "$LAUNCH_HOOK_NAME" ABANDON || true
}
trap 'abandon $LINENO' ERR

dnf install -y -q python3.11 python3.11-pip jq xfsprogs nvme-cli amazon-cloudwatch-agent

INSTANCE_ID=$(imds instance-id)
PRIVATE_IP=$(imds local-ipv4)
AVAILABILITY_ZONE=$(imds placement/availability-zone)
cat >> /etc/graph-node/node.env <<ENV
INSTANCE_ID=$INSTANCE_ID
PRIVATE_IP=$PRIVATE_IP
AVAILABILITY_ZONE=$AVAILABILITY_ZONE
ENV

# 1. Register (the allocator places no graph here until the status is healthy). The shared master has
#    no per-tier database limit; 10 is the node API's own default (KUZU_MAX_DATABASES_PER_NODE).
now=$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)
aws dynamodb put-item --table-name "$INSTANCE_REGISTRY_TABLE" --item "$(jq -n \
  --arg id "$INSTANCE_ID" --arg tier "$WRITER_TIER" --arg type "$KUZU_NODE_TYPE" --arg ip "$PRIVATE_IP" \
  --arg port "$KUZU_PORT" --arg max "${KUZU_MAX_DATABASES_PER_NODE:-10}" --arg now "$now" '{
    instance_id: {S: $id}, cluster_tier: {S: $tier}, node_type: {S: $type}, private_ip: {S: $ip},
    port: {N: $port}, status: {S: "initializing"}, database_count: {N: "0"}, max_databases: {N: $max},
    created_at: {S: $now}, last_heartbeat: {S: $now}}')"

# 2. Data volume: one per node (volume registry database_id "node-<instance id>"), created by the
#    volume manager in this zone, then attached. request_id makes a retried boot step a no-op.
invoke_volume_manager() {  # $1: JSON event; prints the result, fails unless it is ok
  aws lambda invoke --function-name "$VOLUME_MANAGER_FUNCTION" --cli-binary-format raw-in-base64-out \
    --payload "$1" /run/graph-node-volume.json >/dev/null
  jq -e '.ok == true' /run/graph-node-volume.json >/dev/null
  cat /run/graph-node-volume.json
}
# Failover first: a dead node's volume in this zone and tier is adopted (attached here, its graphs
# moved to this instance in the registry); only when there is none is a new volume created.
volume_id=$(invoke_volume_manager "$(jq -nc --arg id "$INSTANCE_ID" --arg tier "$WRITER_TIER" \
  --arg az "$AVAILABILITY_ZONE" \
  '{action: "adopt", instance_id: $id, tier: $tier, availability_zone: $az, request_id: ("adopt-" + $id)}')" \
  | jq -r '.volume.volume_id // empty')
if [ -z "$volume_id" ]; then
  volume_id=$(invoke_volume_manager "$(jq -nc --arg id "node-$INSTANCE_ID" --arg tier "$WRITER_TIER" \
    --arg az "$AVAILABILITY_ZONE" --arg size "$VOLUME_SIZE_GB" \
    '{action: "create", database_id: $id, tier: $tier, availability_zone: $az, size_gb: ($size|tonumber),
      request_id: ("create-" + $id)}')" | jq -r '.volume.volume_id')
  invoke_volume_manager "$(jq -nc --arg vol "$volume_id" --arg id "$INSTANCE_ID" \
    '{action: "attach", volume_id: $vol, instance_id: $id, request_id: ("attach-" + $vol + "-" + $id)}')" >/dev/null
fi
device=$(wait_for_volume_device "$volume_id")
if ! blkid "$device" >/dev/null 2>&1; then
  mkfs.xfs -L kuzu-data "$device"  # a new, empty volume (restored ones keep their filesystem)
fi
mkdir -p "$KUZU_DATABASE_PATH"
uuid=$(blkid -s UUID -o value "$device")
grep -q "$uuid" /etc/fstab || echo "UUID=$uuid $KUZU_DATABASE_PATH xfs defaults,nofail,noatime 0 2" >> /etc/fstab
mount -a
echo "DATA_VOLUME_ID=$volume_id" >> /etc/graph-node/node.env

# 3. Node API: a virtualenv from the stack's bundle, versions pinned by the repository's lock file.
id graphnode >/dev/null 2>&1 || useradd --system --home-dir /opt/graph-node --shell /sbin/nologin graphnode
chown -R graphnode:graphnode "$KUZU_DATABASE_PATH"
mkdir -p /opt/graph-node/src /var/log/graph-node
aws s3 cp --quiet "$NODE_BUNDLE_S3_URL" /tmp/graph-node-bundle.zip
python3.11 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
  /tmp/graph-node-bundle.zip /opt/graph-node/src
python3.11 -m venv /opt/graph-node/venv
/opt/graph-node/venv/bin/pip install --quiet --constraint /opt/graph-node/src/requirements.lock /opt/graph-node/src
# LadybugDB extension files (tier option ladybug_extensions_s3_url, off by default): copied into the
# node's image once, read-only for the engine workers (LADYBUG_EXTENSION_DIR, docs/engine-facts.md).
if [ -n "${LADYBUG_EXTENSIONS_S3_URL:-}" ]; then
  mkdir -p /opt/graph-node/extensions
  aws s3 cp --quiet --recursive --exclude '*' --include 'lib*.lbug_extension' \
    "$LADYBUG_EXTENSIONS_S3_URL" /opt/graph-node/extensions/
  chmod -R a=rX /opt/graph-node/extensions
  echo "LADYBUG_EXTENSION_DIR=/opt/graph-node/extensions" >> /etc/graph-node/node.env
fi
# Ships the node logs to the tier's log group.
/opt/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
  -c file:/etc/graph-node/cloudwatch-agent.json
# The whole process tree (node + engine workers) under KUZU_MAX_MEMORY_MB plus headroom, enforced by
# the kernel; per-database budgets are the node's (cgroup v2 memory.max per worker, Delegate=memory).
mkdir -p /etc/systemd/system/graph-node.service.d
printf '[Service]\nMemoryMax=%sM\n' "$(( ${KUZU_MAX_MEMORY_MB:-14336} * 11 / 10 ))" \
  > /etc/systemd/system/graph-node.service.d/memory.conf
systemctl daemon-reload
systemctl enable --now graph-node.service

# 4. In service once the node API answers (it marked itself healthy in the registry on start-up).
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:${KUZU_PORT}/status" >/dev/null && break
  sleep 5
done
curl -fsS "http://127.0.0.1:${KUZU_PORT}/status" >/dev/null
systemctl enable --now graph-node-lifecycle.service
complete_lifecycle "$LAUNCH_HOOK_NAME" CONTINUE
echo "graph node $INSTANCE_ID ($WRITER_TIER) ready"
