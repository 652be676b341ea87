"""An encrypted SNS alert topic (infrastructure alerts, volume alerts), optionally mailed to operators."""

from __future__ import annotations

from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from cdk.environments import DeployEnvironment


class AlertTopic(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env: DeployEnvironment,
        name: str,
        display_name: str,
        encryption_key: kms.IKey,
        email: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=env.resource_name(name),
            display_name=display_name,
            master_key=encryption_key,
            enforce_ssl=True,  # deny publishes over plain HTTP
        )
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
