"""SNS alert publication shared by the monitors and the allocator's scale-out signal."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

logger = Logger(child=True)


def publish(sns: Any, topic_arn: str, subject: str, message: dict[str, Any]) -> str | None:
    """Publish a JSON message; returns the MessageId, or None when no topic is configured."""
    if not topic_arn:
        logger.info("no topic configured, alert only logged", extra={"subject": subject, **message})
        return None
    # SNS subjects are limited to 100 printable ASCII characters.
    response = sns.publish(
        TopicArn=topic_arn, Subject=subject[:100], Message=json.dumps(message, default=str, sort_keys=True)
    )
    return response["MessageId"]
