"""Powertools Logger and Metrics for a handler (service name per Lambda, namespace from the env)."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics

from contracts.metrics import metric_namespace


def make_logger(service: str) -> Logger:
    return Logger(service=os.getenv("POWERTOOLS_SERVICE_NAME", service))


def make_metrics(service: str) -> Metrics:
    # Powertools refuses to flush without a namespace; the env var (set by CDK, to the same value) wins.
    return Metrics(
        namespace=os.getenv("POWERTOOLS_METRICS_NAMESPACE") or metric_namespace(os.getenv("ENVIRONMENT", "dev")),
        service=os.getenv("POWERTOOLS_SERVICE_NAME", service),
    )
