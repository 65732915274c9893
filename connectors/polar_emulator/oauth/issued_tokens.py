"""Polar-shaped credentials and the OAuth tokens and codes this server issued (hashes only)."""

import hashlib
import hmac
import random
import secrets
import string
import threading
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

_ALPHABET = string.ascii_letters + string.digits
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase

ACCESS_TOKEN_PREFIX = "polar_at_u_"
REFRESH_TOKEN_PREFIX = "polar_rt_u_"
CODE_PREFIX = "polar_ac_"
CLIENT_ID_PREFIX = "polar_ci_"
CLIENT_SECRET_PREFIX = "polar_cs_"
REGISTRATION_TOKEN_PREFIX = "polar_crt_"
CODE_LIFETIME = timedelta(seconds=300)


def _base62_checksum(body: str) -> str:
    number = zlib.crc32(body.encode("ascii")) & 0xFFFFFFFF
    digits = ""
    while number:
        number, remainder = divmod(number, 62)
        digits = _BASE62[remainder] + digits
    return digits.rjust(6, "0")


def generate_token(prefix: str, rng: random.Random | None = None) -> str:
    """A credential shaped like Polar's: prefix, 37 random characters, 6-character CRC32."""
    choose = rng.choice if rng is not None else secrets.choice
    body = "".join(choose(_ALPHABET) for _ in range(37))
    return f"{prefix}{body}{_base62_checksum(body)}"


class TokenHasher:
    """HMAC-SHA256 of credentials with a per-instance key: only hashes are kept server-side."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def hash(self, token: str) -> str:
        """The stored form of a credential."""
        return hmac.new(self._key, token.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass
class IssuedToken:
    """One issued access/refresh token pair (Polar keeps both in one row)."""

    access_hash: str
    refresh_hash: str
    client_id: str
    user_id: str
    scopes: tuple[str, ...]
    organization_ids: list[str]
    issued_at: datetime
    expires_at: datetime
    access_revoked: bool = False
    refresh_revoked: bool = False

    @property
    def revoked(self) -> bool:
        """Either part revoked disables the whole row, as in Authlib's is_revoked."""
        return self.access_revoked or self.refresh_revoked

    def access_usable(self, now: datetime) -> bool:
        """Whether the access token still authenticates API calls."""
        return not self.revoked and now < self.expires_at


@dataclass(frozen=True)
class AccessGrant:
    """Who a valid access token speaks for: user, OAuth client, scopes and org down-scope."""

    user_id: str
    client_id: str
    scopes: frozenset[str]
    organization_ids: list[str] = field(default_factory=list)  # empty = every organization

    def allows_organization(self, organization_id: str) -> bool:
        """Whether the token's organization down-scope includes this organization."""
        return not self.organization_ids or organization_id in self.organization_ids


@dataclass
class AuthorizationCode:
    """A pending authorization code (hash only), valid 300 s and single-use."""

    code_hash: str
    client_id: str
    user_id: str
    redirect_uri: str | None
    scopes: tuple[str, ...]
    organization_ids: list[str]
    code_challenge: str | None
    code_challenge_method: str | None
    nonce: str | None
    issued_at: datetime

    def expired(self, now: datetime) -> bool:
        """Whether the code's 300 s lifetime has passed."""
        return now >= self.issued_at + CODE_LIFETIME


@dataclass
class IssuedTokens:
    """Issued tokens and authorization codes by hash, guarded by one lock."""

    hasher: TokenHasher = field(default_factory=TokenHasher)
    lock: threading.RLock = field(default_factory=threading.RLock)
    by_access: dict[str, IssuedToken] = field(default_factory=dict)
    by_refresh: dict[str, IssuedToken] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)

    def issue(
        self,
        *,
        client_id: str,
        user_id: str,
        scopes: tuple[str, ...],
        organization_ids: list[str],
        now: datetime,
        lifetime_seconds: int,
    ) -> tuple[str, str, IssuedToken]:
        """Mint a new access + refresh token pair; gives the plaintexts and the stored record."""
        access, refresh = generate_token(ACCESS_TOKEN_PREFIX), generate_token(REFRESH_TOKEN_PREFIX)
        record = IssuedToken(
            access_hash=self.hasher.hash(access),
            refresh_hash=self.hasher.hash(refresh),
            client_id=client_id,
            user_id=user_id,
            scopes=scopes,
            organization_ids=list(organization_ids),
            issued_at=now,
            expires_at=now + timedelta(seconds=lifetime_seconds),
        )
        with self.lock:
            self.by_access[record.access_hash] = record
            self.by_refresh[record.refresh_hash] = record
        return access, refresh, record

    def find_access(self, token: str) -> IssuedToken | None:
        """The record of an access token, whatever its state."""
        with self.lock:
            return self.by_access.get(self.hasher.hash(token))

    def find_refresh(self, token: str) -> IssuedToken | None:
        """The record of a refresh token, whatever its state."""
        with self.lock:
            return self.by_refresh.get(self.hasher.hash(token))

    def save_code(self, code: AuthorizationCode) -> None:
        """Remember an authorization code until it is used or expires."""
        with self.lock:
            self.codes[code.code_hash] = code

    def find_code(self, code: str, client_id: str) -> AuthorizationCode | None:
        """The pending code if it was issued to that client."""
        with self.lock:
            found = self.codes.get(self.hasher.hash(code))
            return found if found is not None and found.client_id == client_id else None

    def delete_code(self, code: AuthorizationCode) -> None:
        """Consume a code after a successful exchange (codes are single-use)."""
        with self.lock:
            self.codes.pop(code.code_hash, None)

    def expire_all(self, now: datetime) -> int:
        """Make every current access token expire now; gives how many were live."""
        with self.lock:
            live = [r for r in self.by_access.values() if r.access_usable(now)]
            for record in live:
                record.expires_at = now
            return len(live)

    def revoke_all(self) -> int:
        """Revoke every token and drop every code; gives how many tokens were not yet revoked."""
        with self.lock:
            pending = [r for r in self.by_access.values() if not r.revoked]
            for record in pending:
                record.access_revoked = record.refresh_revoked = True
            self.codes.clear()
            return len(pending)
