"""Secrets at rest (channel credentials): Fernet with a key derived from OMNIA_SECRET_KEY."""

from __future__ import annotations

import base64
import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"omnia-credentials", info=b"fernet").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_json(value: dict[str, Any]) -> str:
    return _fernet(settings.SECRET_KEY).encrypt(json.dumps(value, sort_keys=True).encode()).decode()


def decrypt_json(token: str) -> dict[str, Any]:
    """The stored dict; raises ValueError if the secret key changed since it was stored."""
    if not token:
        return {}
    try:
        return dict(json.loads(_fernet(settings.SECRET_KEY).decrypt(token.encode())))
    except InvalidToken as exc:
        raise ValueError("credentials were encrypted with another OMNIA_SECRET_KEY") from exc
