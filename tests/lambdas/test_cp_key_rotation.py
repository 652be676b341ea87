"""Key rotation: moto's rotate_secret drives the four steps through our handler, in-process.

moto would run a rotation Lambda in Docker; with `use_docker: False` it answers invocations with a
canned payload instead, so `run_rotation_lambda_in_process` replaces that canned answer with a call
of the real handler. Everything else (version staging, AWSPENDING/AWSCURRENT/AWSPREVIOUS moves,
rotation rules) is moto's own rotate_secret.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from moto.awslambda_simple.models import LambdaSimpleBackend

from contracts.api_keys import API_KEY_ALPHABET, decode_secret, encode_secret
from lambdas.key_rotation.handler import RotationFailed, handler
from node_api.cluster.api_keys import SecretsManagerKeyProvider

OLD_KEY = "A" * 64
SECRET = "graph-cluster/test/api-key"


class Invocations(list):
    """Each (step, result) the handler returned; `repeat` > 1 simulates Secrets Manager retrying a step."""

    repeat = 1


@pytest.fixture
def invocations(monkeypatch: pytest.MonkeyPatch, lambda_context: Any) -> Invocations:
    """Route moto's Lambda invocations to the rotation handler."""
    calls = Invocations()

    def invoke(
        self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any
    ) -> str:
        event = json.loads(body)
        for _ in range(calls.repeat):
            calls.append({"step": event["Step"], **handler(event, lambda_context)})
        return json.dumps(calls[-1])

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)
    return calls


@pytest.fixture
def secret(aws: Any) -> dict[str, Any]:
    """The API key secret plus a rotation function registered in moto's Lambda."""
    iam = aws.client("iam")
    role = iam.create_role(RoleName="rotation", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    function = aws.client("lambda").create_function(
        FunctionName="key-rotation",
        Runtime="python3.12",
        Role=role,
        Handler="lambdas.key_rotation.handler.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},  # an empty zip; moto never runs it
    )
    sm = aws.client("secretsmanager")
    sm.create_secret(Name=SECRET, SecretString=encode_secret(OLD_KEY))
    return {"sm": sm, "lambda_arn": function["FunctionArn"]}


def rotate(secret: dict[str, Any]) -> None:
    secret["sm"].rotate_secret(
        SecretId=SECRET,
        RotationLambdaARN=secret["lambda_arn"],
        RotationRules={"AutomaticallyAfterDays": 90},
    )


def stage(secret: dict[str, Any], label: str) -> str:
    return decode_secret(secret["sm"].get_secret_value(SecretId=SECRET, VersionStage=label)["SecretString"])


def test_rotate_secret_runs_all_four_steps_and_installs_a_new_64_char_key(aws, secret, invocations):
    rotate(secret)

    assert [c["step"] for c in invocations] == ["createSecret", "setSecret", "testSecret", "finishSecret"]
    assert all(c["ok"] for c in invocations)
    new_key = stage(secret, "AWSCURRENT")
    assert new_key != OLD_KEY and len(new_key) == 64 and set(new_key) <= set(API_KEY_ALPHABET)
    assert stage(secret, "AWSPREVIOUS") == OLD_KEY


def test_every_step_is_idempotent_under_retries(aws, secret, invocations):
    invocations.repeat = 2
    rotate(secret)

    outcomes = [(c["step"], c["outcome"]) for c in invocations]
    assert outcomes == [
        ("createSecret", "done"),
        ("createSecret", "already_done"),  # the retry keeps the key the first attempt minted
        ("setSecret", "done"),
        ("setSecret", "done"),
        ("testSecret", "done"),
        ("testSecret", "done"),
        ("finishSecret", "done"),
        ("finishSecret", "already_done"),
    ]
    assert stage(secret, "AWSPREVIOUS") == OLD_KEY
    versions = secret["sm"].list_secret_version_ids(SecretId=SECRET)["Versions"]
    assert len(versions) == 2  # no extra versions from the retries


def test_second_rotation_moves_previous_along(aws, secret, invocations):
    rotate(secret)
    first = stage(secret, "AWSCURRENT")
    rotate(secret)
    assert stage(secret, "AWSPREVIOUS") == first
    assert stage(secret, "AWSCURRENT") not in (first, OLD_KEY)


def test_malformed_pending_key_fails_test_step_and_keeps_current(aws, secret, lambda_context):
    sm = secret["sm"]
    sm.put_secret_value(
        SecretId=SECRET,
        ClientRequestToken="tok-bad-0000000000000000000000000000",
        SecretString="short",
        VersionStages=["AWSPENDING"],
    )
    event = {
        "SecretId": SECRET,
        "ClientRequestToken": "tok-bad-0000000000000000000000000000",
        "Step": "testSecret",
    }
    with pytest.raises(RotationFailed, match="conflict"):
        handler(event, lambda_context)
    assert stage(secret, "AWSCURRENT") == OLD_KEY


@pytest.mark.parametrize(
    "event",
    [
        {
            "SecretId": SECRET,
            "ClientRequestToken": "unknown-version-00000000000000000000",
            "Step": "createSecret",
        },
        {"SecretId": SECRET, "ClientRequestToken": "x" * 36, "Step": "dropTables"},
        {"Step": "createSecret"},
    ],
)
def test_bad_rotation_events_fail_loudly(aws, secret, lambda_context, event):
    with pytest.raises(RotationFailed):
        handler(event, lambda_context)
    assert stage(secret, "AWSCURRENT") == OLD_KEY


def test_node_accepts_old_and_new_key_during_the_window_without_restart(aws, secret, invocations):
    offset = {"s": 0.0}
    provider = SecretsManagerKeyProvider(
        SECRET,
        secret["sm"],
        refresh_s=3600,
        rotation_window_s=600,
        miss_refresh_s=0,
        clock=lambda: time.time() + offset["s"],
    )
    assert provider.valid_keys() == (OLD_KEY,)

    rotate(secret)
    new_key = stage(secret, "AWSCURRENT")
    # The cache is still fresh (refresh_s=3600): the unknown new key forces one early refresh.
    assert provider.is_valid(new_key)
    assert provider.is_valid(OLD_KEY)
    assert provider.valid_keys() == (new_key, OLD_KEY)
    assert not provider.is_valid("B" * 64)

    offset["s"] = 601  # the rotation window has closed
    assert provider.refresh() == (new_key,)
    assert not provider.is_valid(OLD_KEY)
    assert provider.is_valid(new_key)


def test_node_keeps_cached_keys_when_secrets_manager_fails(aws, secret):
    class Flaky:
        exceptions = secret["sm"].exceptions

        def __init__(self) -> None:
            self.fail = False

        def get_secret_value(self, **kwargs: Any) -> Any:
            if self.fail:
                raise ConnectionError("network down")
            return secret["sm"].get_secret_value(**kwargs)

    client = Flaky()
    provider = SecretsManagerKeyProvider(SECRET, client, refresh_s=0, miss_refresh_s=0)
    assert provider.valid_keys() == (OLD_KEY,)
    client.fail = True
    assert provider.is_valid(OLD_KEY)
    assert not provider.is_valid("B" * 64)
