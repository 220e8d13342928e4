"""Fixtures for the case command API tests: the small city plus what cases need — certified
officers linked to accounts, approvers at the team and the district, the starter catalog."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.security import hash_password
from hub.services.cases import starter
from hub.settings import HubSettings
from tests.factories.hub import PASSWORD, seed_city

MATTER = "SZ-SR-001"  # fine 0-500, no order first (starter catalog)
# staff id, name, certificate, unit; all certified until 2030
CASE_STAFF = [
    ("sa3", "赵强", "B0003", "team-a"),
    ("sup-a", "陈队", "B0004", "team-a"),
    ("sup-fd", "周局", "B0005", "futian"),
    ("leg-fd", "吴法", "B0006", "futian"),
    ("sup-lh", "孙局", "B0007", "luohu"),
]
# username -> (role, unit, staff)
CASE_USERS = {
    "fd-supervisor": ("supervisor", "futian", "sup-fd"),
    "fd-legal": ("legal_reviewer", "futian", "leg-fd"),
    "lh-supervisor": ("supervisor", "luohu", "sup-lh"),
    "c-officer": ("officer", "team-c", "sc1"),
}
LINKS = {"a-officer": "sa1", "a-supervisor": "sup-a", "a-legal_reviewer": "leg-fd"}


def seed_cases(db_url: str) -> None:
    pw = hash_password(PASSWORD)
    with psycopg.connect(db_url) as conn:
        cur = conn.cursor()
        cur.executemany(
            "INSERT INTO staff (staff_id, name, badge_no, kind, org_unit_id, status)"
            " VALUES (%s, %s, %s, 'officer', %s, 'on_duty')",
            CASE_STAFF,
        )
        conn.execute("UPDATE staff SET certificate_expires = '2030-12-31'")
        cur.executemany(
            "INSERT INTO users (username, password_hash, role, org_unit_id, staff_id)"
            " VALUES (%s, %s, %s, %s, %s)",
            [(u, pw, r, unit, st) for u, (r, unit, st) in CASE_USERS.items()],
        )
        cur.executemany(
            "UPDATE users SET staff_id = %s WHERE username = %s",
            [(st, u) for u, st in LINKS.items()],
        )

    async def catalog() -> None:
        async with await psycopg.AsyncConnection.connect(db_url) as aconn:
            await starter.load(aconn, "clerk", "legal")
            await aconn.commit()

    asyncio.run(catalog())


@pytest.fixture()
def case_api(db_url: str) -> Iterator[tuple[TestClient, str]]:
    s = HubSettings(database_url=db_url, hub_jwt_secret="s" * 40, hub_id_hash_key="k" * 40)
    with TestClient(create_app(s)) as client:
        seed_city(db_url)
        seed_cases(db_url)
        yield client, db_url
