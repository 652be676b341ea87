"""Infrastructure stack: registries from contracts/registry.py, the rotated API key, encrypted topics,
the allocator and instance monitor with their schedule and least-privilege roles."""

from __future__ import annotations

from aws_cdk.assertions import Match, Template

from cdk.api_key import ROTATION_INTERVAL
from cdk.control_plane import POWERTOOLS_LAYER, RUNTIME
from cdk.registries import table_env_var
from contracts.api_keys import API_KEY_LENGTH, SECRET_FIELD
from contracts.registry import REGISTRY_TABLES, create_table_kwargs
from lambdas.common.settings import ControlPlaneSettings
from tests.cdk.support import find_resources, kms_key_ref, policy_statements

ENV = "prod"


def test_resource_counts(infra_template: Template) -> None:
    for resource_type, count in {
        "AWS::KMS::Key": 1,
        "AWS::DynamoDB::Table": len(REGISTRY_TABLES),
        "AWS::SNS::Topic": 2,
        "AWS::SecretsManager::Secret": 2,  # API key, backup signing key set
        "AWS::S3::Bucket": 2,  # backups and their access logs
        "AWS::SecretsManager::RotationSchedule": 1,
        "AWS::Lambda::Function": 4,  # allocator, key rotation, instance monitor, router API
        "AWS::Lambda::Url": 1,
        "AWS::Lambda::LayerVersion": 1,  # the router API's dependencies
        "AWS::Events::Rule": 2,
        "AWS::CloudWatch::Alarm": 5,  # errors of each function, throttles of the router API
    }.items():
        infra_template.resource_count_is(resource_type, count)
    infra_template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_tables_are_the_registry_specs(infra_template: Template) -> None:
    """Keys, indexes and names come from contracts/registry.py, exactly as create_tables() builds them."""
    key = kms_key_ref(infra_template)
    for spec in REGISTRY_TABLES:
        expected = create_table_kwargs(spec, ENV)
        properties = {
            "TableName": expected["TableName"],
            "KeySchema": expected["KeySchema"],
            "AttributeDefinitions": Match.array_equals(expected["AttributeDefinitions"])
            if len(expected["AttributeDefinitions"]) == 1
            else Match.array_with(expected["AttributeDefinitions"]),
            "BillingMode": "PAY_PER_REQUEST",
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": key},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "DeletionProtectionEnabled": True,
        }
        if "GlobalSecondaryIndexes" in expected:
            properties["GlobalSecondaryIndexes"] = Match.array_with(expected["GlobalSecondaryIndexes"])
        if spec.ttl_attribute:
            properties["TimeToLiveSpecification"] = {"AttributeName": spec.ttl_attribute, "Enabled": True}
        infra_template.has_resource(
            "AWS::DynamoDB::Table", {"Properties": properties, "DeletionPolicy": "Retain"}
        )


def test_api_key_secret_is_encrypted_and_rotated(infra_template: Template) -> None:
    infra_template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {
            "Name": f"graph-cluster-{ENV}-api-key",
            "KmsKeyId": kms_key_ref(infra_template),
            "GenerateSecretString": {
                "GenerateStringKey": SECRET_FIELD,
                "PasswordLength": API_KEY_LENGTH,
                "ExcludePunctuation": True,
                "IncludeSpace": False,
                "SecretStringTemplate": "{}",
            },
        },
    )
    rotation = find_resources(infra_template, "AWS::Lambda::Function", "ApiKeyRotation")
    infra_template.has_resource_properties(
        "AWS::SecretsManager::RotationSchedule",
        {
            "RotationLambdaARN": {"Fn::GetAtt": [rotation, "Arn"]},
            "RotationRules": {"ScheduleExpression": f"rate({ROTATION_INTERVAL.to_days()} days)"},
        },
    )


def test_topics_are_encrypted_and_refuse_plain_http(infra_template: Template) -> None:
    for name in ("alerts", "scale-out"):
        infra_template.has_resource_properties(
            "AWS::SNS::Topic",
            {"TopicName": f"graph-cluster-{ENV}-{name}", "KmsMasterKeyId": kms_key_ref(infra_template)},
        )
    infra_template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                        )
                    ]
                )
            }
        },
    )


def test_functions_package_the_lambdas_with_the_powertools_layer(infra_template: Template) -> None:
    for service, name in [
        ("allocator", "allocator"),
        ("instance_monitor", "instance-monitor"),
        ("key_rotation", "key-rotation"),
    ]:
        infra_template.has_resource_properties(
            "AWS::Lambda::Function",
            {
                "FunctionName": f"graph-cluster-{ENV}-{name}",
                "Handler": f"lambdas.{service}.handler.handler",
                "Runtime": RUNTIME.name,
                "Architectures": ["arm64"],
                "Layers": [
                    {"Fn::Join": ["", Match.array_with([Match.string_like_regexp(POWERTOOLS_LAYER)])]}
                ],
                "Environment": {"Variables": Match.object_like({"ENVIRONMENT": ENV})},
            },
        )


def test_control_plane_environment_matches_the_lambda_settings(infra_template: Template) -> None:
    allocator = infra_template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"FunctionName": f"graph-cluster-{ENV}-allocator"}}
    )
    variables = next(iter(allocator.values()))["Properties"]["Environment"]["Variables"]
    assert {table_env_var(s) for s in REGISTRY_TABLES} <= set(variables)
    assert variables["ASG_NAME_TEMPLATE"] == f"graph-cluster-{ENV}-writers-{{tier}}"
    assert {"ALERT_TOPIC_ARN", "SCALE_OUT_TOPIC_ARN"} <= set(variables)
    table = find_resources(infra_template, "AWS::DynamoDB::Table", "Registriesinstanceregistry")
    assert variables["INSTANCE_REGISTRY_TABLE"] == {"Ref": table}


def test_every_function_variable_is_read_by_the_control_plane(
    infra_template: Template, volumes_template: Template
) -> None:
    """No typo can silently fall back to a default: each variable is a settings alias (the router API's
    settings extend the control plane's)."""
    from lambdas.router_api.settings import RouterSettings

    read = {field.validation_alias for field in RouterSettings.model_fields.values()}
    assert {f.validation_alias for f in ControlPlaneSettings.model_fields.values()} <= read
    powertools = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL"}
    for template in (infra_template, volumes_template):
        for function in template.find_resources("AWS::Lambda::Function").values():
            variables = set(function["Properties"]["Environment"]["Variables"])
            assert variables - powertools <= read, variables - powertools - read


def test_instance_monitor_runs_in_private_subnets_on_schedule_and_terminations(
    infra_template: Template,
) -> None:
    infra_template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": f"graph-cluster-{ENV}-instance-monitor",
            "VpcConfig": {"SubnetIds": Match.any_value(), "SecurityGroupIds": Match.any_value()},
        },
    )
    infra_template.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "rate(1 minute)"})
    infra_template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.ec2"],
                "detail-type": ["EC2 Instance State-change Notification"],
                "detail": {"state": ["shutting-down", "terminated"]},
            }
        },
    )


def test_roles_are_scoped_to_resources(infra_template: Template) -> None:
    """Every statement names resources; "*" only for actions without resource-level permissions."""
    unscoped_ok = {
        "autoscaling:DescribeAutoScalingGroups",
        "ec2:DescribeInstances",
        "secretsmanager:GetRandomPassword",
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    }
    for role, statements in policy_statements(infra_template).items():
        for statement in statements:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any(a.endswith(":*") or a == "*" for a in actions), (role, actions)
            if statement["Resource"] == "*":
                assert set(actions) <= unscoped_ok, (role, actions)
    allocator = policy_statements(infra_template)["Allocator"]
    set_capacity = next(s for s in allocator if s["Action"] == "autoscaling:SetDesiredCapacity")
    assert "autoScalingGroupName/graph-cluster-prod-writers-*" in str(set_capacity["Resource"])
    assert not any("secretsmanager" in str(s["Action"]) for s in allocator)


def test_router_api_function_url_iam_and_alarms(infra_template: Template, stacks) -> None:
    """The router API: FastAPI + Mangum from its own layer, behind a function URL with IAM auth, its role
    limited to the two registries it routes and places with, alarmed on errors and throttles."""
    import json as _json

    from tests.cdk.support import policy_statements

    infra_template.has_resource_properties("AWS::Lambda::Url", {"AuthType": "AWS_IAM"})
    infra_template.has_resource_properties("AWS::Lambda::Function", {
        "Handler": "lambdas.router_api.handler.handler", "FunctionName": "graph-cluster-prod-router-api",
        "Environment": {"Variables": {"ROUTER_AUTH_MODE": "edge", "ENVIRONMENT": "prod"}}})
    statements = policy_statements(infra_template)["RouterFunction"]
    actions = {a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    assert {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:PutItem"} <= actions
    assert not any(a.startswith(("ec2:", "secretsmanager:", "s3:")) for a in actions)
    tables = _json.dumps([s["Resource"] for s in statements if "dynamodb:GetItem" in s["Action"]])
    assert "Registriesinstanceregistry" in tables and "Registriesgraphregistry" in tables
    assert "volumeregistry" not in tables and "idempotency" not in tables
    alarms = infra_template.find_resources("AWS::CloudWatch::Alarm")
    router_alarms = {a["Properties"]["MetricName"] for k, a in alarms.items() if k.startswith("RouterFunction")}
    assert router_alarms == {"Errors", "Throttles"}
    infra_template.has_resource_properties("AWS::IAM::ManagedPolicy", {"PolicyDocument": {"Statement": [{
        "Action": "lambda:InvokeFunctionUrl", "Effect": "Allow",
        "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}}}]}})
    infra_template.has_resource_properties("AWS::SSM::Parameter", {"Name": "/graph-cluster-prod/router-url"})
