"""RS256 JSON Web Tokens and the JWKS that verifies them, like Xero's identity server, and
the claims of the access tokens and id_tokens it issues.

One RSA key is made per process (making one takes a moment) and published at
``/.well-known/openid-configuration/jwks``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .seed import UserSpec

__all__ = ["Minted", "SigningKey", "b64url", "decode_unverified", "mint", "signing_key"]


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


@dataclass(frozen=True)
class Minted:
    """A freshly signed access token (and id_token when ``openid`` was granted)."""

    access_token: str
    jti: str
    expires_s: int
    id_token: str | None


def mint(
    user: UserSpec,
    client_id: str,
    scope: tuple[str, ...],
    *,
    grant_id: str,
    auth_event_id: str,
    auth_time: int,
    issuer: str,
    now_s: int,
    ttl: int,
) -> Minted:
    """Sign an access token with Xero's claims, and an id_token (5 minutes) with ``openid``;
    ``email`` and ``profile`` add the user's email and names to it."""
    exp = now_s + ttl
    jti = uuid.uuid4().hex.upper()
    sub = user.xero_userid.replace("-", "")
    session = hashlib.sha256(f"{grant_id}:session".encode()).hexdigest()[:32]
    common = {"sub": sub, "auth_time": auth_time, "xero_userid": user.xero_userid}
    key = signing_key()
    access_token = key.sign(
        {
            "nbf": now_s,
            "exp": exp,
            "iss": issuer,
            "aud": f"{issuer}/resources",
            "client_id": client_id,
            **common,
            "global_session_id": session,
            "sid": session,
            "authentication_event_id": auth_event_id,
            "jti": jti,
            "scope": list(scope),
            "amr": ["pwd"],
        }
    )
    id_token = None
    if "openid" in scope:
        claims: dict[str, Any] = {
            "nbf": now_s,
            "exp": now_s + 300,
            "iss": issuer,
            "aud": client_id,
            "iat": now_s,
            "at_hash": b64url(hashlib.sha256(access_token.encode()).digest()[:16]),
            "sid": session,
            **common,
            "idp": "Xero",
            "global_session_id": session,
            "amr": ["pwd"],
        }
        if "email" in scope:
            claims["preferred_username"] = user.email
            claims["email"] = user.email
        if "profile" in scope:
            claims["given_name"] = user.given_name
            claims["family_name"] = user.family_name
        id_token = key.sign(claims)
    return Minted(access_token, jti, exp, id_token)
