"""Suite-wide safety: nothing a test starts may reach the network beyond loopback.

boto3 and the CDK CLI probe the EC2 metadata address (169.254.169.254) when they find no
credentials, so fake credentials and a disabled metadata client are set before anything imports boto3.
"""

import os

import pytest

from tests.support.engines import EMBEDDED_ENGINES

_SAFE_ENV = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
    "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
}
for _name, _value in _SAFE_ENV.items():
    os.environ[_name] = _value
# A developer's real profile must never be picked up by a test.
os.environ.pop("AWS_PROFILE", None)

pytest_plugins = ["tests.support.bolt", "tests.support.aws"]


@pytest.fixture(scope="module", params=EMBEDDED_ENGINES)
def embedded_engine(request: pytest.FixtureRequest) -> str:
    """Each embedded engine in turn (GRAPH_BACKEND_TYPE), for the suites where the engine matters.
    Module-scoped: pytest groups a module's tests by engine (module fixtures may use it) and never
    reorders tests across modules, which session fixtures of other suites (moto's state) rely on."""
    return request.param
