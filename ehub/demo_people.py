"""The demo's people: staff for its street teams, one login per role, today's shift with a patrol
zone per team, and each officer's kit (terminal, camera, printer) checked out to them.

Everything goes through the hub's own services (``hub.services.*``) as the city's admin, so the
demo's records obey the same rules and leave the same audit trail as a user's would. It runs
before the fleet starts: a simulated terminal signs in on its first tick as the officer whose id
it carries, and that sign-in is judged against the shift seeded here (inside the patrol zone,
within the shift's hours), so the map, dispatch proposals, attendance and tracks have content.
"""

from __future__ import annotations

import asyncio
import math
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from device_drivers.simulator.fleet import FleetMember, SimDevice, SimTerminal
from ehub.registry import STREET_TEAMS
from hub.domain.duty import haversine_m
from hub.domain.errors import HubError
from hub.domain.personnel import StaffStatus
from hub.domain.principal import Principal
from hub.domain.roles import Role
from hub.repositories import audit, org
from hub.security import hash_password
from hub.services import duty, inventory, personnel
from schemas.topics import DeviceType

SHANGHAI = ZoneInfo("Asia/Shanghai")

ACTOR = "demo-seed"
# Family and given names for the simulated staff (plausible, not real people).
FAMILY = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ("伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超")
# GB 11643-1999: weights of the 17 digits and the check character for sum mod 11.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
HOME = "futian-huaqiangbei"  # the team whose people the role logins are
# How far beyond the outermost point of a team's beats its patrol zone reaches.
ZONE_MARGIN_M = 400.0


@dataclass(frozen=True)
class Login:
    role: str
    username: str
    org_unit_id: str
    staff_id: str | None


@dataclass
class People:
    password: str
    logins: list[Login] = field(default_factory=list)
    staff: int = 0
    shifts: int = 0
    checked_out: int = 0
    refused: list[str] = field(default_factory=list)  # what a service refused, and why

    def summary(self) -> str:
        return (
            f"staff={self.staff} shifts={self.shifts} kit_checked_out={self.checked_out}"
            f" refused={len(self.refused)}"
        )


def national_id(n: int) -> str:
    """A syntactically valid resident ID number (Shenzhen's area code 440300), unique per ``n``."""
    body = f"440300{1980 + n % 20:04d}{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
    total = sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True))
    return body + _ID_CHECK[total % 11]


def certificate_expiry(n: int, today: date) -> date:
    """A certified person's certificate expiry: one in seven renews within the month (so the
    staff page's warning has something to show), the others in one to three years."""
    if n % 7 == 3:
        return today + timedelta(days=5 + n % 20)
    return today + timedelta(days=365 + (n * 97) % 730)


def person_name(n: int) -> str:
    return FAMILY[n % len(FAMILY)] + GIVEN[(n // len(FAMILY)) % len(GIVEN)]


def patrol_zone(points: list[tuple[float, float]]) -> dict[str, Any]:
    """A circle around every point of a team's beats, with a margin (the shift's 巡查区域)."""
    lat = sum(p[0] for p in points) / len(points)
    lon = sum(p[1] for p in points) / len(points)
    radius = max(haversine_m(lat, lon, p[0], p[1]) for p in points) + ZONE_MARGIN_M
    return {"kind": "circle", "lat": lat, "lon": lon, "radius_m": math.ceil(radius)}


@dataclass
class _Team:
    unit: str
    officers: list[str] = field(default_factory=list)  # terminal officer ids, in fleet order
    terminals: dict[str, str] = field(default_factory=dict)  # officer -> terminal
    printers: dict[str, str] = field(default_factory=dict)  # officer -> printer paired to theirs
    cameras: list[str] = field(default_factory=list)
    points: list[tuple[float, float]] = field(default_factory=list)


def _teams(fleet: list[FleetMember]) -> dict[str, _Team]:
    teams: dict[str, _Team] = {}
    for d in fleet:
        team = teams.setdefault(STREET_TEAMS[d.district], _Team(STREET_TEAMS[d.district]))
        if isinstance(d, SimTerminal):
            team.officers.append(d.officer_id)
            team.terminals[d.officer_id] = d.device_id
            team.points.extend(d.route.points)
        elif d.device_type is DeviceType.BODY_CAMERA:
            team.cameras.append(d.device_id)
    for d in fleet:
        if isinstance(d, SimDevice) and d.device_type is DeviceType.BT_PRINTER:
            owner = d.officer_id  # the officer of the terminal it pairs with
            # A printer goes with the terminal it pairs with (its officer's), if that officer
            # works in the printer's own team (custody never crosses teams); else it stays in stock.
            team = teams[STREET_TEAMS[d.district]]
            if owner in team.terminals and owner not in team.printers:
                team.printers[owner] = d.device_id
    return teams


async def _register(
    conn: psycopg.AsyncConnection[Any],
    admin: Principal,
    people: People,
    id_key: str,
    *,
    staff_id: str,
    kind: str,
    unit: str,
    n: int,
    badge: bool,
) -> bool:
    data = {
        "staff_id": staff_id,
        "name": person_name(n),
        "kind": kind,
        "org_unit_id": unit,
        "badge_no": f"粤深执{440300 + n:06d}" if badge else None,
        "phone": f"1380000{n:04d}",
        "certificate_expires": (
            certificate_expiry(n, datetime.now(SHANGHAI).date()) if badge else None
        ),
    }
    try:
        await personnel.register(conn, admin, data, national_id(n), id_key=id_key)
        await personnel.change_status(conn, admin, staff_id, StaffStatus.ON_DUTY, reason="在岗")
    except HubError as exc:
        people.refused.append(f"staff {staff_id}: {exc.detail}")
        return False
    people.staff += 1
    return True


async def _seed(conninfo: str, fleet: list[FleetMember], id_key: str, now: datetime) -> People:
    people = People(password=secrets.token_urlsafe(9))
    pw = hash_password(people.password)
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        admin = Principal(ACTOR, Role.ADMIN, "shenzhen", await org.subtree(conn, "shenzhen"))
        teams = _teams(fleet)
        # ehub.registry already puts each terminal's officer on the books and hands them their
        # terminal (the hub accepts a terminal's sign-in only from its holder): keep those.
        cur = await conn.execute("SELECT staff_id FROM staff")
        on_books = {str(r[0]) for r in await cur.fetchall()}
        cur = await conn.execute(
            "SELECT device_id, staff_id FROM custody WHERE checked_in_at IS NULL"
        )
        held = {str(d): str(s) for d, s in await cur.fetchall()}
        n = 0
        leaders: dict[str, str] = {}
        for unit, team in sorted(teams.items()):
            n += 1
            leader = f"{unit.split('-')[0][:2].upper()}L{n:03d}"
            if await _register(
                conn,
                admin,
                people,
                id_key,
                staff_id=leader,
                kind="officer",
                unit=unit,
                n=n,
                badge=True,
            ):
                leaders[unit] = leader
            for officer in team.officers:
                n += 1
                if officer in on_books:
                    continue
                await _register(
                    conn,
                    admin,
                    people,
                    id_key,
                    staff_id=officer,
                    kind="officer",
                    unit=unit,
                    n=n,
                    badge=True,
                )
        # The equipment manager and the dispatcher are on the books of Futian's Huaqiangbei team
        # (or of the first team the fleet has, when it has none there).
        first = HOME if HOME in teams or not teams else min(teams)
        office: dict[str, str] = {}
        for role, sid in (("equipment_manager", "EQ001"), ("dispatcher", "DP001")):
            n += 1
            if await _register(
                conn,
                admin,
                people,
                id_key,
                staff_id=sid,
                kind="auxiliary",
                unit=first,
                n=n,
                badge=False,
            ):
                office[role] = sid

        # Today's shift per team: began an hour ago, twelve hours long, around the team's beats.
        start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        end = start + timedelta(hours=12)
        for unit, team in sorted(teams.items()):
            if not team.officers:
                continue
            try:
                sh = await duty.create_shift(
                    conn,
                    admin,
                    {
                        "org_unit_id": unit,
                        "name": "日常巡查",
                        "starts_at": start,
                        "ends_at": end,
                        "required_headcount": len(team.officers),
                        "zone": patrol_zone(team.points),
                        "early_min": 15,
                        "grace_min": 5,
                    },
                )
            except HubError as exc:
                people.refused.append(f"shift of {unit}: {exc.detail}")
                continue
            people.shifts += 1
            cameras = list(team.cameras)
            for officer in team.officers:
                try:
                    await duty.assign(conn, admin, int(sh["id"]), officer)
                except HubError as exc:
                    people.refused.append(f"{officer} on shift {sh['id']}: {exc.detail}")
                    continue
                kit = [team.terminals[officer]]
                if cameras:
                    kit.append(cameras.pop(0))
                if officer in team.printers:
                    kit.append(team.printers[officer])
                kit = [d for d in kit if d not in held]  # already out (their terminal)
                if not kit:
                    continue
                try:
                    await inventory.check_out(
                        conn, admin, kit, officer, expected_return=end, note="当班装备"
                    )
                except HubError as exc:
                    people.refused.append(f"kit of {officer}: {exc.detail}")
                    continue
                people.checked_out += len(kit)

        # One login per role. The officer's account is that of the home team's first officer.
        home = teams.get(first)
        some_officer = home.officers[0] if home and home.officers else None
        wanted = [
            Login("equipment_manager", "equipment", first, office.get("equipment_manager")),
            Login("maintenance", "maintenance", "shenzhen", None),
            Login("dispatcher", "dispatcher", "shenzhen", office.get("dispatcher")),
            Login("supervisor", "leader", first, leaders.get(first)),
            Login("officer", "officer", first, some_officer),
            Login("legal_reviewer", "legal", "shenzhen", None),
        ]
        for login in wanted:
            await conn.execute(
                "INSERT INTO users (username, password_hash, role, org_unit_id, staff_id)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (username) DO UPDATE"
                " SET password_hash = excluded.password_hash",
                (login.username, pw, login.role, login.org_unit_id, login.staff_id),
            )
            await audit.record(
                conn,
                ACTOR,
                "user.create",
                "user",
                login.username,
                org_unit_id=login.org_unit_id,
                after={
                    "role": login.role,
                    "org_unit_id": login.org_unit_id,
                    "staff_id": login.staff_id,
                },
            )
            people.logins.append(login)
    return people


def seed_people(
    conninfo: str, fleet: list[FleetMember], id_key: str, now: datetime | None = None
) -> People:
    """Seed the demo's people (see the module docstring); idempotent only on a fresh database."""
    return asyncio.run(_seed(conninfo, fleet, id_key, now or datetime.now(UTC)))
