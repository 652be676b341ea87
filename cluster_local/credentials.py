"""The AWS credentials a local cluster issues to its clients, and the file its router API checks
SigV4 signatures against (the local stand-in for IAM verifying a function URL request).

The key pair comes from the control plane's IAM (moto): a user per cluster with one access key. IAM
never returns a secret twice, so it is written here, once, to a file only its owner can read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from botocore.credentials import Credentials


def issue(iam: Any, user_name: str, path: Path) -> Credentials:
    """Create `user_name` and an access key in `iam` (a boto3 IAM client); record it in `path`."""
    try:
        user = iam.create_user(UserName=user_name)["User"]
    except iam.exceptions.EntityAlreadyExistsException:
        user = iam.get_user(UserName=user_name)["User"]
    key = iam.create_access_key(UserName=user_name)["AccessKey"]
    issued = read(path) if path.exists() else {}
    issued[key["AccessKeyId"]] = {"secret_access_key": key["SecretAccessKey"], "arn": user["Arn"],
                                  "session_token": None}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(issued, out, indent=2)
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])


def read(path: Path) -> dict[str, dict[str, Any]]:
    return json.loads(path.read_text())


def first(path: Path) -> Credentials:
    """The first credentials recorded in `path` (what `scripts/cluster env` exports)."""
    access_key, entry = next(iter(read(path).items()))
    return Credentials(access_key, entry["secret_access_key"], entry.get("session_token"))
