"""Personnel on top of ``tests.factories.hub.seed_city``: valid national ID numbers, a district
supervisor, establishment figures and a spread of statuses for exact headcounts."""

from __future__ import annotations

import psycopg

from hub.security import hash_password
from tests.factories.hub import PASSWORD

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"

# Establishment (编制) per unit of the test city.
ESTABLISHMENT = {"team-a": 10, "team-b": 6, "team-c": 4}
# Beside seed_city's four on-duty officers and auxiliaries (sa1, sa2, sb1, sc1).
MORE_STAFF = [
    # staff_id, name, badge, kind, unit, status, seconded_to
    ("sa3", "陈静", "P0003", "patrol", "team-a", "on_leave", None),
    ("sa4", "杨帆", "F0004", "auxiliary", "team-a", "off_duty", None),
    ("sa5", "赵磊", "F0005", "auxiliary", "team-a", "dismissed", None),
    ("sa6", "黄勇", "B0006", "officer", "team-a", "seconded", "futian"),
    ("sa7", "周杰", "P0007", "patrol", "team-a", "transferred", None),
    ("sb2", "吴敏", "P0102", "patrol", "team-b", "on_duty", None),
]


def national_id(serial: int, region: str = "440304", born: str = "19900101") -> str:
    """A well-formed 18-character resident ID number (GB 11643-1999) with its check digit."""
    body = f"{region}{born}{serial:03d}"
    total = sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True))
    return body + _CHECK[total % 11]


def with_wrong_check_digit(number: str) -> str:
    right = number[-1]
    return number[:-1] + ("0" if right != "0" else "1")


def seed_personnel(db_url: str) -> None:
    """A district supervisor for Futian, the establishment, and more staff in team A and B."""
    with psycopg.connect(db_url) as conn:
        cur = conn.cursor()
        cur.executemany(
            "UPDATE org_units SET establishment = %s WHERE id = %s",
            [(n, unit) for unit, n in ESTABLISHMENT.items()],
        )
        cur.executemany(
            "INSERT INTO staff (staff_id, name, badge_no, kind, org_unit_id, status, seconded_to)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            MORE_STAFF,
        )
        cur.execute(
            "INSERT INTO users (username, password_hash, role, org_unit_id)"
            " VALUES ('fd-supervisor', %s, 'supervisor', 'futian')",
            (hash_password(PASSWORD),),
        )
