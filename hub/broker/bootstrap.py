"""A production broker's first dynamic-security file, made offline by ``ehub broker init``.

Mosquitto 2.0's plugin reads its whole state from one JSON file; it stores each password as
base64 PBKDF2-HMAC-SHA512 (64 bytes) with a base64 salt and an iteration count (mosquitto
``plugins/dynamic-security/auth.c``: ``dynsec_auth__pw_hash``). Writing that file here, with the
admin, every service account and role of ``schemas.broker`` and the deny-by-default ACL
access, means the broker starts locked down and needs no open window for setup. Passwords are
random, written one per file (mode 0600) for the services to read (``?password_file=``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from pathlib import Path
from typing import Any

from schemas.broker import SERVICE_ROLES, Acl

ITERATIONS = 101  # the plugin's own default (mosquitto_ctrl dynsec init writes the same)
ADMIN = "ehub-admin"


def hash_password(password: str, *, salt: bytes | None = None) -> dict[str, Any]:
    salt = salt or secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ITERATIONS, dklen=64)
    return {
        "password": base64.b64encode(digest).decode(),
        "salt": base64.b64encode(salt).decode(),
        "iterations": ITERATIONS,
    }


def _role(name: str, acls: list[Acl]) -> dict[str, Any]:
    return {"rolename": name, "acls": [{**a.as_dict(), "priority": 0} for a in acls]}


ADMIN_ACLS = [
    Acl("publishClientSend", "$CONTROL/dynamic-security/#"),
    Acl("publishClientReceive", "$CONTROL/dynamic-security/#"),
    Acl("subscribePattern", "$CONTROL/dynamic-security/#"),
]


def config(passwords: dict[str, str]) -> dict[str, Any]:
    """The plugin's file: ``passwords`` names the accounts to create (admin and services)."""
    roles = {ADMIN: ADMIN_ACLS, **SERVICE_ROLES}
    return {
        "defaultACLAccess": {
            "publishClientSend": False,
            "publishClientReceive": True,
            "subscribe": False,
            "unsubscribe": True,
        },
        "roles": [_role(n, acls) for n, acls in roles.items()],
        "clients": [
            {
                "username": name,
                "textname": "EnforceHub service account",
                "roles": [{"rolename": name}],
                **hash_password(pw),
            }
            for name, pw in passwords.items()
        ],
        "groups": [],
    }


def init(dynsec_file: Path, secrets_dir: Path) -> list[str]:
    """Write the file and one password file per account, unless the file exists (a broker's
    state is never overwritten: it holds every device). Returns the accounts created."""
    if dynsec_file.exists():
        return []
    accounts = [ADMIN, *(n for n in SERVICE_ROLES if not n.endswith("-subscriber"))]
    passwords = {name: secrets.token_urlsafe(24) for name in accounts}
    secrets_dir.mkdir(parents=True, exist_ok=True)
    for name, pw in passwords.items():
        f = secrets_dir / name
        f.touch(mode=0o600)
        f.chmod(0o600)
        f.write_text(pw + "\n")
    dynsec_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = dynsec_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(config(passwords), indent=1))
    tmp.chmod(0o600)
    tmp.rename(dynsec_file)
    return accounts
