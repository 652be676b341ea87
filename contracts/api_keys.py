"""The node API key: its format, the header that carries it, and its Secrets Manager encoding.

Shared by the rotation Lambda (writer), the nodes (readers), the CDK secret and the clients.
The secret string is JSON `{"api_key": "<64 characters>"}`; a bare string is accepted on read so an
operator can seed the secret by hand.
"""

from __future__ import annotations

import json
import secrets
import string

API_KEY_HEADER = "X-Graph-API-Key"
API_KEY_LENGTH = 64
# Letters and digits only: safe in HTTP headers, shell variables and JSON without escaping.
API_KEY_ALPHABET = string.ascii_letters + string.digits
SECRET_FIELD = "api_key"


def generate_api_key() -> str:
    return "".join(secrets.choice(API_KEY_ALPHABET) for _ in range(API_KEY_LENGTH))


def is_valid_api_key(key: str) -> bool:
    return len(key) == API_KEY_LENGTH and all(c in API_KEY_ALPHABET for c in key)


def encode_secret(api_key: str) -> str:
    return json.dumps({SECRET_FIELD: api_key})


def decode_secret(secret_string: str) -> str:
    """The API key inside a secret string (JSON object or bare key). Raises ValueError."""
    text = secret_string.strip()
    if text.startswith("{"):
        value = json.loads(text).get(SECRET_FIELD)
        if not isinstance(value, str):
            raise ValueError(f"secret JSON has no string field {SECRET_FIELD!r}")
        return value
    return text
