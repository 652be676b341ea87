#!/usr/bin/env bash
# Runs as graph-node-lifecycle.service. When the autoscaling group starts terminating this instance
# (IMDS target-lifecycle-state becomes Terminated; the termination hook holds it in Terminating:Wait):
# drain the node API (on SIGTERM it deregisters, or stays "stopped" while graphs are placed on it),
# release the data volume, then let the termination continue.
set -uo pipefail
source /opt/graph-node/bin/common.sh
load_settings

until [ "$(imds autoscaling/target-lifecycle-state 2>/dev/null)" = "Terminated" ]; do
  sleep 5
done
echo "termination requested: draining $INSTANCE_ID"
# SIGTERM: the node API stops accepting requests, closes its databases and deregisters.
systemctl stop graph-node.service
sync
umount "$KUZU_DATABASE_PATH" || true
payload=$(jq -nc --arg vol "$DATA_VOLUME_ID" '{action: "detach", volume_id: $vol}')
aws lambda invoke --function-name "$VOLUME_MANAGER_FUNCTION" --cli-binary-format raw-in-base64-out \
  --payload "$payload" /run/graph-node-detach.json >/dev/null || true
complete_lifecycle "$TERMINATE_HOOK_NAME" CONTINUE
