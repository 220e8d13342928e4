"""Seed the device registry for a simulated fleet (dev, demo and tests; the hub owns it later).

Org units: Shenzhen (city) -> its districts -> one street enforcement team per simulated
street. Devices are registered to the team of the district they patrol.
"""

from __future__ import annotations

import psycopg

from device_drivers.simulator.fleet import FleetMember
from device_drivers.vehicle_tracker.jt808.terminal import phone_for
from schemas.topics import DeviceType

DISTRICTS = {
    "futian": ("福田区", "Futian"),
    "luohu": ("罗湖区", "Luohu"),
    "nanshan": ("南山区", "Nanshan"),
    "baoan": ("宝安区", "Bao'an"),
    "longgang": ("龙岗区", "Longgang"),
}
# One representative street office (街道) per district, for the seed.
STREET_TEAMS = {
    "futian": ("futian-huaqiangbei", "华强北街道综合行政执法队", "Huaqiangbei Street Team"),
    "luohu": ("luohu-dongmen", "东门街道综合行政执法队", "Dongmen Street Team"),
    "nanshan": ("nanshan-yuehai", "粤海街道综合行政执法队", "Yuehai Street Team"),
    "baoan": ("baoan-xin-an", "新安街道综合行政执法队", "Xin'an Street Team"),
    "longgang": ("longgang-longcheng", "龙城街道综合行政执法队", "Longcheng Street Team"),
}


def seed_org_units(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    rows: list[tuple[str, str | None, str, str, str]] = [
        ("shenzhen", None, "city", "深圳市", "Shenzhen")
    ]
    for key, (zh, en) in DISTRICTS.items():
        rows.append((key, "shenzhen", "district", zh, en))
        team, tzh, ten = STREET_TEAMS[key]
        rows.append((team, key, "street", tzh, ten))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO org_units (id, parent_id, level, name, name_en)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
            rows,
        )


def register_fleet(conninfo: str, fleet: list[FleetMember]) -> int:
    """Register every simulated device (idempotent); returns how many were new."""
    with psycopg.connect(conninfo) as conn:
        seed_org_units(conn)
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
                        STREET_TEAMS[d.district][0],
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
