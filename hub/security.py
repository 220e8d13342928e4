"""Passwords (argon2id), access tokens (JWT, HS256) and the keyed hash of national ID numbers.

A token is accepted only with every claim the hub itself writes (RFC 7519 §4.1): ``sub``,
``iat``, ``exp``, the hub's ``iss`` and ``aud``, and the account's token generation ``gen``
(raised when the account is deactivated, so its old tokens never come back to life), signed
with HS256 under the hub's secret; ``alg: none`` and every other algorithm are refused.

A national ID number is never stored. The blacklist and staff records keep an HMAC-SHA256 of it
under a city-wide secret (``EHUB_HUB_ID_HASH_KEY``): equal numbers match anywhere in the city,
and a leaked table cannot be reversed by hashing all 10^17 possible numbers without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hub.domain.errors import Invalid

_hasher = PasswordHasher()
ALGORITHM = "HS256"
ISSUER = "enforcement-hub"
AUDIENCE = "enforcement-hub/api"
_REQUIRED = ["sub", "iat", "exp", "iss", "aud", "gen"]
_ID_RE = re.compile(r"^[1-9]\d{16}[\dX]$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    # Made on first use (no work at import time), with the same parameters as real hashes.
    return _hasher.hash("no such account: this hash only takes the time a real one does")


def verify_login(stored: str | None, password: str) -> bool:
    """Check a password against an account's hash, or against a dummy hash when there is no
    account, so that an unknown username costs the same argon2 time as a known one (else the
    answer's timing tells which usernames exist: 5 ms against 217 ms before, issue 12)."""
    if stored is None:
        verify_password(_dummy_hash(), password)
        return False
    return verify_password(stored, password)


@dataclass(frozen=True, slots=True)
class TokenClaims:
    username: str
    generation: int


def issue_token(
    secret: str, username: str, ttl: timedelta, generation: int = 0, now: datetime | None = None
) -> str:
    now = now or datetime.now(UTC)
    claims = {
        "sub": username,
        "iat": now,
        "exp": now + ttl,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "gen": generation,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_token(secret: str, token: str) -> TokenClaims | None:
    """The claims of a valid, unexpired token of this hub; None otherwise."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            audience=AUDIENCE,
            options={"require": _REQUIRED, "verify_iat": True},
        )
    except jwt.PyJWTError:
        return None
    sub, gen = claims.get("sub"), claims.get("gen")
    if not isinstance(sub, str) or not isinstance(gen, int) or isinstance(gen, bool):
        return None
    return TokenClaims(sub, gen)


def normalise_national_id(raw: str) -> str:
    """An 18-character resident ID number (GB 11643-1999) with a valid check digit."""
    value = raw.strip().upper()
    if not _ID_RE.fullmatch(value):
        raise Invalid("national ID number must be 17 digits and a check digit (0-9 or X)")
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != value[17]:
        raise Invalid("national ID number has a wrong check digit: re-read the card")
    return value


def national_id_hash(key: str, raw: str) -> str:
    value = normalise_national_id(raw)
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()
