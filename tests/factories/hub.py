"""A small city for hub tests: two districts, three street teams, an account per role in team
A, a district manager and a city admin, staff and devices in each team."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from fastapi.testclient import TestClient

from hub.domain.roles import Role
from hub.security import hash_password

PASSWORD = "correct horse battery staple"
UNITS = [
    ("shenzhen", None, "city", "深圳市"),
    ("futian", "shenzhen", "district", "福田区"),
    ("luohu", "shenzhen", "district", "罗湖区"),
    ("team-a", "futian", "street", "华强北街道综合行政执法队"),
    ("team-b", "futian", "street", "沙头街道综合行政执法队"),
    ("team-c", "luohu", "street", "东门街道综合行政执法队"),
]
STAFF = [
    ("sa1", "李明", "B0001", "officer", "team-a"),
    ("sa2", "王芳", "B0002", "auxiliary", "team-a"),
    ("sb1", "张伟", "B0101", "officer", "team-b"),
    ("sc1", "刘洋", "B0201", "officer", "team-c"),
]
DEVICES = [
    ("cam-a1", "body_camera", "team-a"),
    ("cam-a2", "body_camera", "team-a"),
    ("prn-a1", "bt_printer", "team-a"),
    ("cam-b1", "body_camera", "team-b"),
    ("cam-c1", "body_camera", "team-c"),
]


@dataclass(frozen=True)
class City:
    users: dict[str, tuple[str, str]]  # username -> (role, unit)


def seed_city(db_url: str) -> City:
    # One hash for every account: argon2 is slow on purpose, and tests need many accounts.
    pw = hash_password(PASSWORD)
    users = {f"a-{r.value}": (r.value, "team-a") for r in Role}
    users |= {
        "b-equipment_manager": ("equipment_manager", "team-b"),
        "fd-equipment_manager": ("equipment_manager", "futian"),
        "city-admin": ("admin", "shenzhen"),
    }
    with psycopg.connect(db_url) as conn:
        cur = conn.cursor()
        cur.executemany(
            "INSERT INTO org_units (id, parent_id, level, name) VALUES (%s, %s, %s, %s)", UNITS
        )
        cur.executemany(
            "INSERT INTO staff (staff_id, name, badge_no, kind, org_unit_id, status)"
            " VALUES (%s, %s, %s, %s, %s, 'on_duty')",
            STAFF,
        )
        cur.executemany(
            "INSERT INTO devices (device_id, device_type, org_unit_id, serial)"
            " VALUES (%s, %s, %s, 'SN-' || %s)",
            [(d, t, u, d) for d, t, u in DEVICES],
        )
        cur.executemany(
            "INSERT INTO users (username, password_hash, role, org_unit_id)"
            " VALUES (%s, %s, %s, %s)",
            [(name, pw, role, unit) for name, (role, unit) in users.items()],
        )
    return City(users)


def bearer(client: TestClient, user: str) -> dict[str, str]:
    """Log ``user`` in (the seeded password) and return the Authorization header."""
    r = client.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}
