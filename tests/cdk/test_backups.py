"""The backup bucket and signing key set (cdk/backups.py): lifecycle rule, encryption, TLS only, the
generated key set in the node's format, and writers granted exactly their backups' prefix."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match, Template

from cdk.backups import BACKUP_PREFIX, LIFECYCLE_GRACE_DAYS, NONCURRENT_DAYS, SIGNING_KEY_LENGTH
from cdk.environments import get_environment
from node_api.core.backup.settings import BackupSettings
from node_api.core.backup.signing import parse_key_set
from tests.cdk.support import ENV, Synthesized, kms_key_ref, policy_statements


def _node_template(synthesized: Synthesized) -> Template:
    return synthesized.template(synthesized.stacks.nodes["standard"])


def test_bucket_lifecycle_encryption_and_access(infra_template: Template) -> None:
    max_age = get_environment(ENV).backup_max_age_days
    infra_template.has_resource(
        "AWS::S3::Bucket",
        {
            "Properties": Match.object_like({
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [{
                    "BucketKeyEnabled": True,
                    "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                      "KMSMasterKeyID": kms_key_ref(infra_template)},
                }]},
                "VersioningConfiguration": {"Status": "Enabled"},
                "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                   "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
                "LoggingConfiguration": Match.object_like({"DestinationBucketName": Match.any_value()}),
                "LifecycleConfiguration": {"Rules": [{
                    "Id": "expire-graph-backups",
                    "Prefix": BACKUP_PREFIX,
                    "Status": "Enabled",
                    "ExpirationInDays": max_age + LIFECYCLE_GRACE_DAYS,
                    "NoncurrentVersionExpiration": {"NoncurrentDays": NONCURRENT_DAYS},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                }]},
            }),
            "DeletionPolicy": "Retain",  # prod keeps its backups when the stack goes
        },
    )
    policies = infra_template.find_resources("AWS::S3::BucketPolicy")
    assert len(policies) == 2
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                   for s in statements)


def test_signing_key_set_is_generated_in_the_node_format(infra_template: Template) -> None:
    infra_template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {
            "Name": f"graph-cluster-{ENV}-backup-signing-key",
            "KmsKeyId": kms_key_ref(infra_template),
            "GenerateSecretString": Match.object_like({
                "SecretStringTemplate": '{"previous": []}',
                "GenerateStringKey": "current",
                "PasswordLength": SIGNING_KEY_LENGTH,
            }),
        },
    )
    # What CloudFormation generates is a key set the node reads.
    current, previous = parse_key_set(json.dumps({"previous": [], "current": "k" * SIGNING_KEY_LENGTH}))
    assert len(current) == SIGNING_KEY_LENGTH and previous == []


def test_writers_get_the_backup_settings(synthesized: Synthesized) -> None:
    (launch_template,) = _node_template(synthesized).find_resources("AWS::EC2::LaunchTemplate").values()
    user_data = json.dumps(launch_template["Properties"]["LaunchTemplateData"]["UserData"])
    environment = get_environment(ENV)
    for name in ("GRAPH_API_BACKUP_S3_BUCKET=", "GRAPH_API_BACKUP_SIGNING_SECRET_ID=",
                 f"GRAPH_API_BACKUP_S3_PREFIX={BACKUP_PREFIX}",
                 f"GRAPH_API_BACKUP_KEEP_LAST={environment.backup_keep_last}",
                 f"GRAPH_API_BACKUP_MAX_AGE_DAYS={environment.backup_max_age_days}"):
        assert name in user_data, name
    # ... and they are the names the node reads.
    aliases = {str(f.validation_alias) for f in BackupSettings.model_fields.values()}
    for name in ("GRAPH_API_BACKUP_S3_BUCKET", "GRAPH_API_BACKUP_SIGNING_SECRET_ID", "GRAPH_API_BACKUP_KEEP_LAST",
                 "GRAPH_API_BACKUP_MAX_AGE_DAYS", "GRAPH_API_BACKUP_S3_PREFIX"):
        assert name in aliases


@pytest.mark.parametrize("node", ["standard", "neo4j"])
def test_nodes_reach_only_the_backup_prefix(synthesized: Synthesized, node: str) -> None:
    if node == "neo4j":
        statements = [s for v in policy_statements(synthesized.template(synthesized.stacks.neo4j)).values() for s in v]
    else:
        statements = policy_statements(_node_template(synthesized))["Nodes"]

    def with_action(action: str) -> list[dict]:
        return [s for s in statements if action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]

    (objects,) = with_action("s3:PutObject")
    assert sorted(objects["Action"]) == ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject",
                                         "s3:PutObject"]
    assert f'"/{BACKUP_PREFIX}*"' in json.dumps(objects["Resource"])
    (listing,) = with_action("s3:ListBucket")
    assert listing["Condition"] == {"StringLike": {"s3:prefix": [f"{BACKUP_PREFIX}*"]}}
    via_s3 = with_action("kms:GenerateDataKey")
    assert len(via_s3) == 1 and "s3." in json.dumps(via_s3[0]["Condition"])
    assert not with_action("s3:PutBucketPolicy") and not with_action("s3:*")
    # The signing secret: read only.
    read = [r for s in with_action("secretsmanager:GetSecretValue")
            for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])]
    assert len(read) == (3 if node == "neo4j" else 2)  # the API key, the signing key set (, Neo4j's password)
    assert not with_action("secretsmanager:PutSecretValue")
