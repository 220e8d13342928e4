"""Seed the device registry for a simulated fleet (dev, demo and tests; the hub owns it later).

Org units: Shenzhen's real districts and street teams (``hub.seed_shenzhen``). A simulated
device is registered to one street team of the district it patrols.
"""

from __future__ import annotations

import psycopg

from device_drivers.simulator.fleet import FleetMember, SimTerminal
from device_drivers.vehicle_tracker.jt808.terminal import phone_for
from hub.repositories import audit
from hub.seed_shenzhen import seed_org
from schemas.topics import DeviceType

# The street team that a simulated district's devices belong to (ids from hub.seed_shenzhen).
STREET_TEAMS = {
    "futian": "futian-huaqiangbei",
    "luohu": "luohu-dongmen",
    "nanshan": "nanshan-yuehai",
    "baoan": "baoan-xin-an",
    "longgang": "longgang-longcheng",
}


def register_fleet(conninfo: str, fleet: list[FleetMember]) -> int:
    """Register every simulated device (idempotent); returns how many were new."""
    with psycopg.connect(conninfo) as conn:
        seed_org(conn)
        with conn.cursor() as cur:
            before = cur.execute("SELECT count(*) FROM devices").fetchone()
            cur.executemany(
                "INSERT INTO devices (device_id, device_type, serial, model, org_unit_id)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (device_id) DO NOTHING",
                [
                    (
                        d.device_id,
                        d.device_type.value,
                        f"SN-{d.device_id.upper()}",
                        f"sim-{d.device_type.value}",
                        STREET_TEAMS[d.district],
                    )
                    for d in fleet
                ],
            )
            after = cur.execute("SELECT count(*) FROM devices").fetchone()
        _hand_out_terminals(conn, [d for d in fleet if isinstance(d, SimTerminal)])
    assert before is not None and after is not None
    return int(after[0]) - int(before[0])


def _hand_out_terminals(
    conn: psycopg.Connection[tuple[object, ...]], terms: list[SimTerminal]
) -> None:
    """Put each simulated terminal's officer on the team's books and check the terminal out to
    them (audited), as an equipment manager would: the hub accepts a terminal's sign-in or
    printer pairing only from the officer who holds it (``hub.domain.terminals``)."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO staff (staff_id, name, badge_no, kind, org_unit_id, status)"
            " VALUES (%s, %s, %s, 'officer', %s, 'on_duty') ON CONFLICT DO NOTHING",
            [
                (
                    t.officer_id,
                    f"执法队员{t.officer_id[-3:]}",
                    t.officer_id,
                    STREET_TEAMS[t.district],
                )
                for t in terms
            ],
        )
        for t in terms:
            row = cur.execute(
                "INSERT INTO custody (device_id, staff_id, checked_out_at, out_by, note)"
                " SELECT %s, %s, now() - interval '1 day', 'ehub-simulator', 'simulated fleet'"
                " WHERE NOT EXISTS (SELECT 1 FROM custody WHERE device_id = %s"
                " AND checked_in_at IS NULL) RETURNING id",
                (t.device_id, t.officer_id, t.device_id),
            ).fetchone()
            if row is not None:
                cur.execute(
                    audit.INSERT,
                    audit.row(
                        "ehub-simulator",
                        "custody.check_out",
                        "device",
                        t.device_id,
                        org_unit_id=STREET_TEAMS[t.district],
                        before=None,
                        after={"custody_id": row[0], "staff_id": t.officer_id},
                    ),
                )


def register_jt808(conninfo: str, fleet: list[FleetMember]) -> int:
    """List the fleet's vehicle trackers as JT/T 808 terminals (they register themselves)."""
    rows = [
        (d.device_id, phone_for(d.device_id))
        for d in fleet
        if d.device_type is DeviceType.VEHICLE_TRACKER
    ]
    with psycopg.connect(conninfo) as conn:
        conn.cursor().executemany(
            "INSERT INTO jt808_terminals (device_id, phone) VALUES (%s, %s)"
            " ON CONFLICT (device_id) DO NOTHING",
            rows,
        )
    return len(rows)
