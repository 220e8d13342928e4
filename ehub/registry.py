"""Seed the device registry for a simulated fleet (dev, demo and tests; the hub owns it later).

Org units: Shenzhen's real districts and street teams (``hub.seed_shenzhen``). A simulated
device is registered to one street team of the district it patrols.
"""

from __future__ import annotations

import psycopg

from device_drivers.simulator.fleet import FleetMember
from device_drivers.vehicle_tracker.jt808.terminal import phone_for
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
    assert before is not None and after is not None
    return int(after[0]) - int(before[0])


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
