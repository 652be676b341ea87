"""Who may call the router API: IAM principals, by AWS Signature Version 4.

On Lambda (function URL, AuthType AWS_IAM) AWS verifies the signature at its edge, before the function
runs, and puts the caller in the event (`requestContext.authorizer.iam`); `EdgeIamAuth` refuses any
request without that identity, so a URL misconfigured to AuthType NONE serves nobody.

Under uvicorn (the local cluster) `SigV4Verifier` does what the edge does: it recomputes the signature
with botocore's SigV4 signer from the secret of the access key the request names (the credentials the
cluster issued, ROUTER_CREDENTIALS_FILE) and compares in constant time; it also checks the credential
scope (date, region, service), the clock skew and the session token.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<signed>[a-z0-9;\-]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"


class AuthError(Exception):
    """The request is not from a known, correctly signing principal (401) or is refused (403)."""

    def __init__(self, message: str, *, status: int = 401) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Principal:
    arn: str
    access_key: str | None = None
    account_id: str | None = None


@dataclass(frozen=True)
class IssuedCredential:
    secret_access_key: str
    arn: str
    session_token: str | None = None


def load_credentials(path: str | Path) -> dict[str, IssuedCredential]:
    """{"<access key id>": {"secret_access_key", "arn", "session_token"?}} from a JSON file."""
    raw = json.loads(Path(path).read_text())
    return {key: IssuedCredential(**value) for key, value in raw.items()}


class EdgeIamAuth:
    """Lambda: AWS checked the signature; the caller is in the event Mangum hands the app."""

    def principal(self, scope: Mapping[str, Any]) -> Principal:
        event = scope.get("aws.event") or {}
        iam = ((event.get("requestContext") or {}).get("authorizer") or {}).get("iam") or {}
        arn = iam.get("userArn")
        if not arn:
            raise AuthError("the request carries no IAM identity (the function URL must use AuthType AWS_IAM)")
        return Principal(arn=arn, access_key=iam.get("accessKey"), account_id=iam.get("accountId"))


class SigV4Verifier:
    def __init__(self, credentials: Mapping[str, IssuedCredential], *, region: str, service: str,
                 max_skew_s: int = 300) -> None:
        self.credentials = dict(credentials)
        self.region = region
        self.service = service
        self.max_skew_s = max_skew_s

    def verify(self, method: str, url: str, headers: Mapping[str, str], body: bytes,
               now: datetime | None = None) -> Principal:
        """The signing principal. Raises AuthError. `headers` are matched case-insensitively."""
        lower = {k.lower(): v for k, v in headers.items()}
        match = _AUTHORIZATION.match(lower.get("authorization", "").strip())
        if match is None:
            raise AuthError("missing or malformed SigV4 Authorization header")
        access_key, _, scope = match["credential"].partition("/")
        date, region, service, terminal = (scope.split("/") + ["", "", "", ""])[:4]
        amz_date = lower.get("x-amz-date", "")
        try:
            signed_at = datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=UTC)
        except ValueError:
            raise AuthError("missing or malformed X-Amz-Date header") from None
        if (date, region, service, terminal) != (amz_date[:8], self.region, self.service, "aws4_request"):
            raise AuthError(f"credential scope {scope!r} is not {amz_date[:8]}/{self.region}/{self.service}/aws4_request")
        skew = abs(((now or datetime.now(UTC)) - signed_at).total_seconds())
        if skew > self.max_skew_s:
            raise AuthError(f"request signed {int(skew)} s away from the server's clock (limit {self.max_skew_s} s)")
        issued = self.credentials.get(access_key)
        if issued is None:
            raise AuthError("the access key id is not known here", status=403)
        signed = match["signed"].split(";")
        if "host" not in signed or "x-amz-date" not in signed:
            raise AuthError("the signature must cover host and x-amz-date")
        token = lower.get("x-amz-security-token")
        if token != issued.session_token or (token and "x-amz-security-token" not in signed):
            raise AuthError("the security token does not belong to this access key", status=403)
        if any(name not in lower for name in signed):
            raise AuthError("a signed header is missing from the request")
        request = AWSRequest(method=method.upper(), url=url, data=body, headers={n: lower[n] for n in signed})
        request.context["timestamp"] = amz_date
        signer = SigV4Auth(Credentials(access_key, issued.secret_access_key, issued.session_token),
                           self.service, self.region)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        if not hmac.compare_digest(expected, match["signature"]):
            raise AuthError("the signature does not match", status=403)
        return Principal(arn=issued.arn, access_key=access_key)

