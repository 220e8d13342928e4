"""``ehub admin``: org units, accounts and bulk device import for administrators.

These commands talk to the database directly (no running hub needed) and write the same audit
records as the API, with the actor ``cli:<name>``.
"""

from __future__ import annotations

import csv
import getpass
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import psycopg
from pydantic import ValidationError

from hub.api.routes.devices import DeviceCreate
from hub.domain.roles import Role
from hub.repositories import audit
from hub.security import hash_password

IMPORT_COLUMNS = (
    "device_id",
    "device_type",
    "serial",
    "model",
    "firmware",
    "purchase_date",
    "org_unit_id",
    "audit_interval_days",
)


def actor(name: str | None) -> str:
    return f"cli:{name or os.environ.get('SUDO_USER') or getpass.getuser()}"


def _audit(
    conn: psycopg.Connection[Any],
    who: str,
    *,
    action: str,
    entity: str,
    entity_id: str,
    unit: str | None,
    after: dict[str, Any],
) -> None:
    conn.execute(
        audit.INSERT,
        audit.row(who, action, entity, entity_id, org_unit_id=unit, before=None, after=after),
    )


def create_unit(
    conninfo: str,
    who: str,
    *,
    unit_id: str,
    parent: str | None,
    level: str,
    name: str,
    name_en: str | None,
    establishment: int,
) -> None:
    if level not in ("city", "district", "street"):
        raise SystemExit(f"--level must be city, district or street, not {level!r}")
    with psycopg.connect(conninfo) as conn:
        if (
            parent is not None
            and conn.execute("SELECT 1 FROM org_units WHERE id = %s", (parent,)).fetchone() is None
        ):
            raise SystemExit(f"parent unit {parent!r} does not exist")
        row = {
            "id": unit_id,
            "parent_id": parent,
            "level": level,
            "name": name,
            "name_en": name_en,
            "establishment": establishment,
        }
        conn.execute(
            "INSERT INTO org_units (id, parent_id, level, name, name_en, establishment)"
            " VALUES (%(id)s, %(parent_id)s, %(level)s, %(name)s, %(name_en)s, %(establishment)s)",
            row,
        )
        _audit(
            conn,
            who,
            action="org_unit.create",
            entity="org_unit",
            entity_id=unit_id,
            unit=unit_id,
            after=row,
        )


def create_user(
    conninfo: str,
    who: str,
    *,
    username: str,
    role: str,
    unit: str,
    staff_id: str | None,
    password: str,
) -> None:
    try:
        Role(role)
    except ValueError:
        raise SystemExit(f"--role must be one of {', '.join(Role)}") from None
    if len(password) < 12:
        raise SystemExit("the password must have at least 12 characters")
    with psycopg.connect(conninfo) as conn:
        conn.execute(
            "INSERT INTO users (username, password_hash, role, org_unit_id, staff_id)"
            " VALUES (%s, %s, %s, %s, %s)",
            (username, hash_password(password), role, unit, staff_id),
        )
        _audit(
            conn,
            who,
            action="user.create",
            entity="user",
            entity_id=username,
            unit=unit,
            after={"username": username, "role": role, "org_unit_id": unit, "staff_id": staff_id},
        )


@dataclass(frozen=True)
class RowError:
    line: int  # line in the file (the header is line 1)
    device_id: str
    field: str
    message: str


class Progress:
    """A progress bar on a terminal; a line every 10 % otherwise (logs, CI)."""

    def __init__(self, total: int, out: TextIO = sys.stderr) -> None:
        self.total, self.out, self.done = max(total, 1), out, 0
        self._tty = out.isatty()
        self._last_decile = -1

    def step(self, n: int = 1) -> None:
        self.done += n
        frac = min(self.done / self.total, 1.0)
        if self._tty:
            bar = "#" * int(frac * 30)
            self.out.write(f"\r[{bar:<30}] {frac:4.0%} {self.done}/{self.total}")
            if self.done >= self.total:
                self.out.write("\n")
            self.out.flush()
        elif int(frac * 10) != self._last_decile:
            self._last_decile = int(frac * 10)
            self.out.write(f"{frac:4.0%} {self.done}/{self.total}\n")


def read_devices(path: Path) -> tuple[list[tuple[int, DeviceCreate]], list[RowError]]:
    """Parse and validate every row (with its line); errors name the line and the field."""
    good: list[tuple[int, DeviceCreate]] = []
    errors: list[RowError] = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"device_id", "device_type", "org_unit_id"} - set(reader.fieldnames or [])
        if missing:
            raise SystemExit(
                f"{path}: missing column(s) {', '.join(sorted(missing))}; "
                f"expected {', '.join(IMPORT_COLUMNS)}"
            )
        unknown = set(reader.fieldnames or []) - set(IMPORT_COLUMNS)
        if unknown:
            raise SystemExit(f"{path}: unknown column(s) {', '.join(sorted(unknown))}")
        for line, raw in enumerate(reader, start=2):
            values = {k: v.strip() for k, v in raw.items() if k and v is not None and v.strip()}
            try:
                good.append((line, DeviceCreate.model_validate(values)))
            except ValidationError as exc:
                for e in exc.errors(include_url=False, include_input=False):
                    field = ".".join(str(p) for p in e["loc"]) or "<row>"
                    errors.append(RowError(line, values.get("device_id", "?"), field, e["msg"]))
    return good, errors


def import_devices(
    conninfo: str, who: str, path: Path, *, skip_invalid: bool, out: TextIO = sys.stdout
) -> int:
    """Import devices from CSV. With any bad row nothing is imported unless ``skip_invalid``.
    Returns the exit code: 0 all imported, 1 some rows skipped, 2 nothing imported."""
    rows, errors = read_devices(path)
    with psycopg.connect(conninfo) as conn:
        units = {r[0] for r in conn.execute("SELECT id FROM org_units")}
        known = {r[0] for r in conn.execute("SELECT device_id FROM devices")}
        serials = {
            r[0] for r in conn.execute("SELECT serial FROM devices WHERE serial IS NOT NULL")
        }
        seen_ids: set[str] = set()
        seen_serials: set[str] = set()
        ok: list[DeviceCreate] = []
        for line, d in rows:
            problem: tuple[str, str] | None = None
            if d.org_unit_id not in units:
                problem = ("org_unit_id", f"no org unit {d.org_unit_id!r}")
            elif d.device_id in known or d.device_id in seen_ids:
                problem = ("device_id", "already in the inventory or earlier in this file")
            elif d.serial and (d.serial in serials or d.serial in seen_serials):
                problem = ("serial", f"serial {d.serial} already belongs to another device")
            if problem:
                errors.append(RowError(line, d.device_id, *problem))
                continue
            seen_ids.add(d.device_id)
            if d.serial:
                seen_serials.add(d.serial)
            ok.append(d)
        for e in sorted(errors, key=lambda e: e.line):
            out.write(f"line {e.line} ({e.device_id}): {e.field}: {e.message}\n")
        if errors and not skip_invalid:
            out.write(f"{len(errors)} problem(s); nothing imported (fix them, or --skip-invalid)\n")
            return 2
        bar = Progress(len(ok))
        with conn.transaction():
            for d in ok:
                row = d.model_dump(mode="python") | {"device_type": d.device_type.value}
                conn.execute(
                    "INSERT INTO devices (device_id, device_type, serial, model, firmware,"
                    " purchase_date, org_unit_id, audit_interval_days) VALUES (%(device_id)s,"
                    " %(device_type)s, %(serial)s, %(model)s, %(firmware)s, %(purchase_date)s,"
                    " %(org_unit_id)s, %(audit_interval_days)s)",
                    row,
                )
                _audit(
                    conn,
                    who,
                    action="device.import",
                    entity="device",
                    entity_id=d.device_id,
                    unit=d.org_unit_id,
                    after=d.model_dump(mode="json"),
                )
                bar.step()
        out.write(
            f"imported {len(ok)} device(s) from {path}"
            + (f"; skipped {len(errors)} bad row(s)" if errors else "")
            + "\n"
        )
        return 1 if errors else 0
