#!/usr/bin/env bash
# Helpers shared by the graph node's bootstrap and lifecycle scripts.

load_settings() {
  set -a
  # shellcheck disable=SC1091
  source /etc/graph-node/node.env
  set +a
}

# Instance metadata over IMDSv2 (the launch template requires tokens).
imds() {
  local token
  token=$(curl -fsS -X PUT http://169.254.169.254/latest/api/token \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
  curl -fsS -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1"
}

registry_set_status() {
  aws dynamodb update-item --table-name "$INSTANCE_REGISTRY_TABLE" \
    --key "{\"instance_id\": {\"S\": \"$INSTANCE_ID\"}}" \
    --update-expression 'SET #s = :s, status_reason = :r, last_heartbeat = :t' \
    --expression-attribute-names '{"#s": "status"}' \
    --expression-attribute-values "{\":s\": {\"S\": \"$1\"}, \":r\": {\"S\": \"$2\"},
      \":t\": {\"S\": \"$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)\"}}"
}

complete_lifecycle() {
  aws autoscaling complete-lifecycle-action --auto-scaling-group-name "$ASG_NAME" \
    --lifecycle-hook-name "$1" --lifecycle-action-result "$2" --instance-id "$INSTANCE_ID"
}

# Nitro instances expose EBS volumes as NVMe devices whose serial is the volume id without the dash.
wait_for_volume_device() {
  local serial=${1/-/} link
  for _ in $(seq 1 60); do
    link=/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${serial}
    if [ -e "$link" ]; then readlink -f "$link"; return 0; fi
    sleep 5
  done
  echo "volume $1 never appeared" >&2
  return 1
}
