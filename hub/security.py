"""Passwords (argon2id), access tokens (JWT, HS256) and the keyed hash of national ID numbers.

A national ID number is never stored. The blacklist and staff records keep an HMAC-SHA256 of it
under a city-wide secret (``EHUB_HUB_ID_HASH_KEY``): equal numbers match anywhere in the city,
and a leaked table cannot be reversed by hashing all 10^17 possible numbers without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hub.domain.errors import Invalid

_hasher = PasswordHasher()
ALGORITHM = "HS256"
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


def issue_token(secret: str, username: str, ttl: timedelta, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    claims = {"sub": username, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_token(secret: str, token: str) -> str | None:
    """The username in a valid, unexpired token; None otherwise."""
    try:
        claims: dict[str, Any] = jwt.decode(token, secret, algorithms=[ALGORITHM])
    except jwt.PyJWTError:
        return None
    sub = claims.get("sub")
    return sub if isinstance(sub, str) else None


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
