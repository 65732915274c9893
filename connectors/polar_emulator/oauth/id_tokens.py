"""RS256 ID tokens signed with an RSA key under a per-instance key id, and the matching JWKS."""

import base64
import json
import secrets
from datetime import datetime
from functools import cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ISSUER = "https://polar.sh"
ID_TOKEN_LIFETIME_SECONDS = 3600


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64url(number: int) -> str:
    return _b64url(number.to_bytes((number.bit_length() + 7) // 8, "big"))


@cache
def _process_signing_key() -> rsa.RSAPrivateKey:
    """One 2048-bit key per process: generating one costs 0.1-1 s, and the test suite starts
    hundreds of emulators. Each emulator still has its own key id, so a token signed by one
    emulator never verifies against another's JWKS (no key there has its `kid`)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class IdTokenSigner:
    """Signs ID tokens; the public half is served at /.well-known/jwks.json."""

    def __init__(self) -> None:
        self._key = _process_signing_key()
        self.key_id = secrets.token_hex(8)

    def __repr__(self) -> str:
        return f"IdTokenSigner(key_id={self.key_id!r})"

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JSON Web Key Set with the public signing key."""
        numbers = self._key.public_key().public_numbers()
        key = {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.key_id,
            "n": _int_b64url(numbers.n),
            "e": _int_b64url(numbers.e),
        }
        return {"keys": [key]}

    def sign(self, claims: dict[str, object]) -> str:
        """A compact RS256 JWS of the claims."""
        header = {"alg": "RS256", "typ": "JWT", "kid": self.key_id}
        signing_input = ".".join(
            _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
        )
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"

    def id_token(
        self,
        *,
        user_id: str,
        client_id: str,
        now: datetime,
        nonce: str | None,
        email: str | None,
        email_verified: bool | None,
    ) -> str:
        """The ID token of an authorization-code exchange with the openid scope."""
        issued = int(now.timestamp())
        claims: dict[str, object] = {
            "iss": ISSUER,
            "sub": user_id,
            "aud": client_id,
            "iat": issued,
            "exp": issued + ID_TOKEN_LIFETIME_SECONDS,
            "auth_time": issued,
        }
        if nonce:
            claims["nonce"] = nonce
        if email is not None:
            claims["email"] = email
            claims["email_verified"] = bool(email_verified)
        return self.sign(claims)
