"""Backdating an event to borrow someone else's custody (issue 12 security review): an event's
``ts`` is the terminal's own clock, so officer A, who holds terminal T now, could send a
``sign_in`` or ``printer_paired`` naming officer B with ``ts`` set to yesterday, when B held T,
and have it count for B. The named officer must hold the terminal both at the event's time and
when the hub receives it; anything else is refused with the reason and kept. Through the real
hub worker on real Mosquitto and TimescaleDB, as a terminal would send it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.factories.hub import bearer
from tests.helpers import msg, query, wait_until
from tests.hub.conftest import start_hub_worker
from tests.security._hub import hub_client

__all__ = ["hub_client", "start_hub_worker"]
pytestmark = pytest.mark.integration

CENTRE = (22.5440, 114.0850)
ZONE = {"kind": "circle", "lat": CENTRE[0], "lon": CENTRE[1], "radius_m": 300}
# Yesterday's shift, when sa2 (B) held term-s1; sa1 (A) was handed it after and holds it now.
YESTERDAY = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
HANDED_BACK = YESTERDAY + timedelta(hours=5)
STOLEN = (
    "terminal term-s1 is checked out to sa1 now, not to sa2;"
    " an event naming sa2 is taken only while they still hold the terminal"
)


@pytest.fixture()
def yesterday(hub_client: Callable[..., TestClient], db_url: str) -> Iterator[int]:
    """sa1 and sa2 on yesterday's shift of team A. term-s1: sa2's until after that shift, sa1's
    since. term-s2: sa1's since before that shift and still (the control). Printer prn-s1."""
    client = hub_client()
    h = bearer(client, "a-supervisor")
    future = datetime.now(UTC) + timedelta(hours=2)  # the API plans shifts ahead; moved below
    body = {
        "org_unit_id": "team-a",
        "name": "华强北早班",
        "starts_at": future.isoformat(),
        "ends_at": (future + timedelta(hours=4)).isoformat(),
        "required_headcount": 2,
        "zone": ZONE,
    }
    r = client.post("/api/v1/shifts", json=body, headers=h)
    assert r.status_code == 201, r.text
    shift_id = r.json()["id"]
    for who in ("sa1", "sa2"):
        r = client.post(f"/api/v1/shifts/{shift_id}/assignments", json={"staff_id": who}, headers=h)
        assert r.status_code == 201, r.text
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE shifts SET starts_at = %s, ends_at = %s WHERE id = %s",
            (YESTERDAY, YESTERDAY + timedelta(hours=4), shift_id),
        )
        conn.cursor().executemany(
            "INSERT INTO devices (device_id, device_type, org_unit_id) VALUES (%s, %s, 'team-a')",
            [
                ("term-s1", "mobile_terminal"),
                ("term-s2", "mobile_terminal"),
                ("prn-s1", "bt_printer"),
            ],
        )
        conn.cursor().executemany(
            "INSERT INTO custody (device_id, staff_id, checked_out_at, checked_in_at, out_by)"
            " VALUES (%s, %s, %s, %s, 'a-equipment_manager')",
            [
                ("term-s1", "sa2", YESTERDAY - timedelta(days=1), HANDED_BACK),
                ("term-s1", "sa1", HANDED_BACK, None),
                ("term-s2", "sa1", YESTERDAY - timedelta(days=1), None),
            ],
        )
    yield shift_id


def test_a_sign_in_backdated_to_when_another_officer_held_the_terminal_is_refused_and_kept(
    yesterday: int, db_url: str, publisher: Any, start_hub_worker: Callable[[str], Any]
) -> None:
    start_hub_worker(db_url)
    at = YESTERDAY - timedelta(minutes=2)  # in yesterday's sign-in window, in the zone
    # The attack: sa1 holds term-s1 now and signs sa2 in, dated to when sa2 held it.
    publisher.publish(
        "ehub/v1/mobile_terminal/term-s1/event",
        msg(1, at, event="sign_in", officer_id="sa2", lat=CENTRE[0], lon=CENTRE[1]),
    )
    # The control: a backlog from a terminal its officer held then and still holds counts.
    publisher.publish(
        "ehub/v1/mobile_terminal/term-s2/event",
        msg(1, at, event="sign_in", officer_id="sa1", lat=CENTRE[0], lon=CENTRE[1]),
    )
    rows = wait_until(
        lambda: (
            r
            if len(
                r := query(
                    db_url,
                    "SELECT device_id, seq, officer_id, accepted, reason FROM attendance_events"
                    " ORDER BY device_id, seq",
                )
            )
            >= 2
            else None
        ),
        timeout=30,
    )
    assert rows == [
        ("term-s1", 1, "sa2", False, STOLEN),
        ("term-s2", 1, "sa1", True, None),
    ]
    signed = query(
        db_url,
        "SELECT staff_id, signed_in_at FROM attendance WHERE shift_id = %s ORDER BY staff_id",
        yesterday,
    )
    assert signed == [("sa1", at), ("sa2", None)]


def test_a_printer_pairing_backdated_to_when_another_officer_held_the_terminal_is_refused(
    yesterday: int, db_url: str, publisher: Any, start_hub_worker: Callable[[str], Any]
) -> None:
    publisher.subscribe("ehub/v1/mobile_terminal/+/cmd")
    start_hub_worker(db_url)
    at = YESTERDAY + timedelta(hours=1)  # sa2 held term-s1 then
    publisher.publish(
        "ehub/v1/mobile_terminal/term-s1/event",
        msg(1, at, event="printer_paired", printer_id="prn-s1", officer_id="sa2"),
    )

    def answers() -> list[dict[str, Any]]:
        topic = "ehub/v1/mobile_terminal/term-s1/cmd"
        return [json.loads(p)["args"] for t, p in publisher.received if t == topic]

    (refused,) = wait_until(answers)
    assert refused == {
        "printer_id": "prn-s1",
        "officer_id": "sa2",
        "accepted": False,
        "reason": STOLEN,
    }
    assert query(db_url, "SELECT count(*) FROM printer_pairings") == [(0,)]
    assert query(
        db_url,
        "SELECT terminal_id, officer_id, accepted, reason FROM printer_pairing_requests",
    ) == [("term-s1", "sa2", False, STOLEN)]


def test_the_custody_rule_needs_the_officer_to_hold_the_terminal_then_and_now() -> None:
    from hub.domain.terminals import custody_refusal

    assert custody_refusal("term-1", "sa1", "sa1", "sa1") is None
    then = "terminal term-1 is checked out to sa2 at that time, not to sa1"
    assert custody_refusal("term-1", "sa1", "sa2", "sa1") == then  # the event's time first
    assert custody_refusal("term-1", "sa1", "sa1", "sa2") == (
        "terminal term-1 is checked out to sa2 now, not to sa1;"
        " an event naming sa1 is taken only while they still hold the terminal"
    )
    assert custody_refusal("term-1", "sa1", "sa1", None) == (
        "terminal term-1 is not checked out to anyone now;"
        " an event naming sa1 is taken only while they still hold the terminal"
    )
