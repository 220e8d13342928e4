"""``ehub admin broker-credentials`` and ``ehub admin jt808-enrol``: bulk provisioning of device
broker accounts and JT/T 808 enrolment from the command line, straight to the database and
the broker, through the same services (and audit records, actor ``cli:<name>``) as the API.

The CSV of credentials is the only place the passwords ever exist: it is written with mode
0600 and printed nowhere; hand it to whoever sets the devices up, then destroy it.
"""

from __future__ import annotations

import asyncio
import csv
import errno
import os
import stat
import sys
from pathlib import Path
from typing import Any

import psycopg

from hub.domain.errors import HubError
from hub.domain.principal import Principal
from hub.domain.roles import Role
from hub.services import broker_access, jt808_enrol
from schemas.broker import MqttEndpoint

CSV_COLUMNS = ("device_id", "username", "password", "client_id")


async def _cli_principal(conn: psycopg.AsyncConnection[Any], who: str) -> Principal:
    """The operator at the console acts as an admin of the whole city (as the other
    ``ehub admin`` commands do: they write the database directly)."""
    cur = await conn.execute("SELECT id FROM org_units")
    units = frozenset(r[0] for r in await cur.fetchall())
    root = await conn.execute("SELECT id FROM org_units WHERE parent_id IS NULL LIMIT 1")
    top = await root.fetchone()
    return Principal(who, Role.ADMIN, top[0] if top else "", units)


def open_private(out: Path) -> int:
    """Open ``out`` for writing passwords: owner-only, whatever was there before.

    ``O_CREAT``'s mode only applies to a file it creates: a file that already exists keeps its
    mode (a 0644 left by an earlier run, or planted by someone who wants to read it), and a
    symlink would be followed to wherever it points. So: never follow a symlink
    (``O_NOFOLLOW``), refuse anything but a regular file of ours, and ``fchmod`` the open file to
    0600 before a single byte is written (the mode is set on what we opened, not on a path that
    could be swapped in between). Raises ``OSError`` with what is wrong."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(out, flags, 0o600)
    except OSError as e:
        if e.errno == errno.ELOOP:  # O_NOFOLLOW on a symlink
            raise OSError(e.errno, f"{out} is a symbolic link; give the path of a new file") from e
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, f"{out} is not a regular file")
        if st.st_uid != os.geteuid():
            # Its owner could read it whatever its mode: do not write passwords into it.
            raise OSError(errno.EPERM, f"{out} belongs to another user; give a new file")
        os.fchmod(fd, 0o600)
        os.ftruncate(fd, 0)  # after the chmod: the old content goes, the new one stays private
    except BaseException:
        os.close(fd)
        raise
    return fd


async def _credentials(
    conninfo: str, broker_url: str, who: str, *, device_ids: list[str], unit: str | None, out: Path
) -> int:
    endpoint = MqttEndpoint.parse(broker_url)
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        p = await _cli_principal(conn, who)
        if not device_ids:
            cur = await conn.execute(
                "SELECT device_id FROM devices WHERE status NOT IN ('retired', 'lost')"
                " AND (%(u)s::text IS NULL OR org_unit_id = %(u)s) ORDER BY device_id",
                {"u": unit},
            )
            device_ids = [r[0] for r in await cur.fetchall()]
        try:
            fd = open_private(out)
        except OSError as e:
            print(f"cannot write the credentials: {e}", file=sys.stderr)
            return 2
        failed = 0
        with os.fdopen(fd, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(CSV_COLUMNS)
            for device_id in device_ids:
                try:
                    c = await broker_access.issue(conn, p, device_id, endpoint)
                except HubError as e:
                    print(f"{device_id}: {e.detail}", file=sys.stderr)
                    failed += 1
                    continue
                w.writerow((device_id, c.username, c.password, c.client_id))
    issued = len(device_ids) - failed
    print(f"issued {issued} credentials into {out} (mode 0600; shown nowhere else)")
    return 0 if failed == 0 else 1


def credentials(
    conninfo: str,
    broker_url: str,
    who: str,
    *,
    device_ids: list[str],
    unit: str | None,
    out: Path,
) -> int:
    return asyncio.run(
        _credentials(conninfo, broker_url, who, device_ids=device_ids, unit=unit, out=out)
    )


async def _enrol(conninfo: str, who: str, device_id: str, phone: str | None) -> int:
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        p = await _cli_principal(conn, who)
        try:
            if phone is None:
                await jt808_enrol.unenrol(conn, p, device_id)
                print(f"{device_id}: JT/T 808 enrolment removed")
            else:
                e = await jt808_enrol.enrol(conn, p, device_id, phone)
                print(f"{device_id}: enrolled as JT/T 808 terminal {e.phone}")
        except HubError as e:
            print(f"{device_id}: {e.detail}", file=sys.stderr)
            return 1
    return 0


def jt808(conninfo: str, who: str, device_id: str, phone: str | None) -> int:
    return asyncio.run(_enrol(conninfo, who, device_id, phone))
