#!/usr/bin/env bash
# First boot of the Neo4j Community node: Neo4j 5 from its yum repository on the encrypted data volume,
# then the node API in front of it (GRAPH_BACKEND_TYPE=neo4j_community, port 8002) as a systemd service.
set -euo pipefail
exec > >(tee -a /var/log/graph-node-bootstrap.log) 2>&1
source /opt/graph-node/bin/common.sh
load_settings

dnf install -y -q java-21-amazon-corretto-headless python3.11 python3.11-pip jq xfsprogs
rpm --import https://debian.neo4j.com/neotechnology.gpg.key
cat > /etc/yum.repos.d/neo4j.repo <<'REPO'
[neo4j]
name=Neo4j RPM Repository
baseurl=https://yum.neo4j.com/stable/5
enabled=1
gpgcheck=1
REPO
NEO4J_ACCEPT_LICENSE_AGREEMENT=yes dnf install -y -q neo4j

# The launch template's second volume holds the graph store.
device=$(readlink -f /dev/sdf)
blkid "$device" >/dev/null 2>&1 || mkfs.xfs -L neo4j-data "$device"
mkdir -p /var/lib/neo4j/data
grep -q neo4j-data /etc/fstab || echo "LABEL=neo4j-data /var/lib/neo4j/data xfs defaults,nofail 0 2" >> /etc/fstab
mount -a
chown -R neo4j:neo4j /var/lib/neo4j/data

password=$(aws secretsmanager get-secret-value --secret-id "$NEO4J_PASSWORD_SECRET_ID" \
  --query SecretString --output text | jq -r .password)
sed -i 's/^#\?server.default_listen_address=.*/server.default_listen_address=0.0.0.0/' /etc/neo4j/neo4j.conf
neo4j-admin dbms set-initial-password "$password"
systemctl enable --now neo4j
printf 'NEO4J_PASSWORD=%s\n' "$password" > /etc/graph-node/neo4j.env
chmod 600 /etc/graph-node/neo4j.env

id graphnode >/dev/null 2>&1 || useradd --system --home-dir /opt/graph-node --shell /sbin/nologin graphnode
mkdir -p /opt/graph-node/src /var/log/graph-node
aws s3 cp --quiet "$NODE_BUNDLE_S3_URL" /tmp/graph-node-bundle.zip
python3.11 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
  /tmp/graph-node-bundle.zip /opt/graph-node/src
python3.11 -m venv /opt/graph-node/venv
/opt/graph-node/venv/bin/pip install --quiet --constraint /opt/graph-node/src/requirements.lock /opt/graph-node/src
systemctl daemon-reload
systemctl enable --now graph-node.service
