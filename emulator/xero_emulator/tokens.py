"""RS256 JSON Web Tokens and the JWKS that verifies them, like Xero's identity server.

One RSA key is made per process (making one takes a moment) and published at
``/.well-known/openid-configuration/jwks``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = ["SigningKey", "b64url", "decode_unverified", "signing_key"]


def b64url(data: bytes) -> str:
    """Base64url without padding, as JOSE writes it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _uint(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class SigningKey:
    """An RSA key that signs RS256 JWTs and describes itself as a JWK."""

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = self._key.public_key().public_numbers()
        self.kid = hashlib.sha256(str(numbers.n).encode()).hexdigest()[:32].upper()
        self.jwk: dict[str, str] = {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "e": _uint(numbers.e),
            "n": _uint(numbers.n),
        }

    def sign(self, claims: dict[str, Any]) -> str:
        """A compact RS256 JWT carrying ``claims``."""
        header = {"alg": "RS256", "kid": self.kid, "typ": "JWT"}
        signing_input = (
            b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(signature)

    def verify(self, token: str) -> dict[str, Any] | None:
        """The claims of a token this key signed, or ``None`` (expiry is not checked here)."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            signature = _b64url_decode(parts[2])
            self._key.public_key().verify(
                signature,
                f"{parts[0]}.{parts[1]}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
            claims = json.loads(_b64url_decode(parts[1]))
        except Exception:  # any malformed or forged token is simply not ours
            return None
        return claims if isinstance(claims, dict) else None


def decode_unverified(token: str) -> dict[str, Any]:
    """The claims of a JWT without checking its signature (for tests and tools)."""
    claims = json.loads(_b64url_decode(token.split(".")[1]))
    if not isinstance(claims, dict):
        raise ValueError("not a JWT claims set")
    return claims


_KEY: SigningKey | None = None
_KEY_LOCK = threading.Lock()


def signing_key() -> SigningKey:
    """The process-wide signing key, made on first use."""
    global _KEY
    with _KEY_LOCK:
        if _KEY is None:
            _KEY = SigningKey()
        return _KEY
