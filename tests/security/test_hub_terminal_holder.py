"""Acting through someone else's terminal (issue 12 part 7): a terminal's sign-in or printer
pairing counts only for the officer who holds that terminal (custody) at the event's time
(and still holds it when the hub receives it: test_hub_worker_backdated_custody.py); anything
else is refused with the reason and kept. Through the real hub worker on real
Mosquitto and TimescaleDB, as a terminal would send it."""

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
START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
HANDOVER = START - timedelta(minutes=10)


@pytest.fixture()
def shift(hub_client: Callable[..., TestClient], db_url: str) -> Iterator[int]:
    """sa1 and sa2 on one shift of team A; terminal term-s1 held by sa1 until ten minutes
    before it starts, then by sa2; term-s2 never checked out; printer prn-s1."""
    client = hub_client()
    h = bearer(client, "a-supervisor")
    body = {
        "org_unit_id": "team-a",
        "name": "华强北早班",
        "starts_at": START.isoformat(),
        "ends_at": (START + timedelta(hours=4)).isoformat(),
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
            " VALUES ('term-s1', %s, %s, %s, 'a-equipment_manager')",
            [
                ("sa1", START - timedelta(days=1), HANDOVER),
                ("sa2", HANDOVER, None),
            ],
        )
    yield shift_id


def sign_in(publisher: Any, terminal: str, seq: int, officer: str, at: datetime) -> None:
    publisher.publish(
        f"ehub/v1/mobile_terminal/{terminal}/event",
        msg(seq, at, event="sign_in", officer_id=officer, lat=CENTRE[0], lon=CENTRE[1]),
    )


def events(db_url: str, n: int) -> list[tuple[Any, ...]]:
    return wait_until(
        lambda: (
            rows
            if len(
                rows := query(
                    db_url,
                    "SELECT device_id, seq, officer_id, accepted, reason FROM attendance_events"
                    " ORDER BY device_id, seq",
                )
            )
            >= n
            else None
        ),
        timeout=30,
    )


def test_a_sign_in_for_an_officer_who_does_not_hold_the_terminal_is_refused_and_kept(
    shift: int, db_url: str, publisher: Any, start_hub_worker: Callable[[str], Any]
) -> None:
    # The handover has happened by the time the hub receives these: the holder must hold the
    # terminal at the event's time and now (test_hub_worker_backdated_custody.py).
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE custody SET checked_in_at = now() - interval '1 minute'"
            " WHERE device_id = 'term-s1' AND staff_id = 'sa1'"
        )
        conn.execute(
            "UPDATE custody SET checked_out_at = now() - interval '1 minute'"
            " WHERE device_id = 'term-s1' AND staff_id = 'sa2'"
        )
    start_hub_worker(db_url)
    at = START - timedelta(minutes=2)  # inside the sign-in window, inside the zone
    sign_in(publisher, "term-s1", 1, "sa1", at)  # sa1 handed it over at HANDOVER
    sign_in(publisher, "term-s2", 1, "sa1", at)  # nobody was handed term-s2
    sign_in(publisher, "term-s1", 2, "sa2", at)  # the holder at that time
    rows = events(db_url, 3)
    assert rows == [
        (
            "term-s1",
            1,
            "sa1",
            False,
            "terminal term-s1 is checked out to sa2 at that time, not to sa1",
        ),
        ("term-s1", 2, "sa2", True, None),
        ("term-s2", 1, "sa1", False, "terminal term-s2 is not checked out to anyone at that time"),
    ]
    signed = query(
        db_url,
        "SELECT staff_id, signed_in_at IS NOT NULL FROM attendance WHERE shift_id = %s"
        " ORDER BY staff_id",
        shift,
    )
    assert signed == [("sa1", False), ("sa2", True)]


def test_a_sign_in_counts_for_the_holder_at_the_events_time_not_now(
    shift: int, db_url: str, publisher: Any, start_hub_worker: Callable[[str], Any]
) -> None:
    start_hub_worker(db_url)
    before = HANDOVER - timedelta(minutes=1)  # sa1 still held it then (in the sign-in window)
    sign_in(publisher, "term-s1", 1, "sa1", before)
    sign_in(publisher, "term-s1", 2, "sa2", before)
    rows = events(db_url, 2)
    assert rows[0] == ("term-s1", 1, "sa1", True, None)
    assert rows[1] == (
        "term-s1", 2, "sa2", False,
        "terminal term-s1 is checked out to sa1 at that time, not to sa2",
    )  # fmt: skip


def test_a_printer_pairing_through_a_terminal_held_by_someone_else_is_refused_with_the_reason(
    shift: int, db_url: str, publisher: Any, start_hub_worker: Callable[[str], Any]
) -> None:
    publisher.subscribe("ehub/v1/mobile_terminal/+/cmd")
    start_hub_worker(db_url)
    now = datetime.now(UTC)  # term-s1 is sa1's now (the handover is still to come)
    assert now < HANDOVER

    def pair(terminal: str, seq: int, officer: str) -> None:
        publisher.publish(
            f"ehub/v1/mobile_terminal/{terminal}/event",
            msg(seq, now, event="printer_paired", printer_id="prn-s1", officer_id=officer),
        )

    def answers(terminal: str) -> list[dict[str, Any]]:
        topic = f"ehub/v1/mobile_terminal/{terminal}/cmd"
        return [json.loads(p)["args"] for t, p in publisher.received if t == topic]

    pair("term-s1", 1, "sa2")  # sa2 holds term-s1 only from the handover on
    pair("term-s2", 1, "sa1")  # nobody holds term-s2
    (refused,) = wait_until(lambda: answers("term-s1"))
    assert refused["accepted"] is False
    assert refused["reason"] == "terminal term-s1 is checked out to sa1 at that time, not to sa2"
    (nobody,) = wait_until(lambda: answers("term-s2"))
    assert nobody == {
        "printer_id": "prn-s1",
        "officer_id": "sa1",
        "accepted": False,
        "reason": "terminal term-s2 is not checked out to anyone at that time",
    }
    assert query(db_url, "SELECT count(*) FROM printer_pairings") == [(0,)]
    pair("term-s1", 2, "sa1")  # the holder: accepted
    wait_until(lambda: len(answers("term-s1")) == 2)
    assert answers("term-s1")[1]["accepted"] is True
    assert query(
        db_url,
        "SELECT terminal_id, officer_id, accepted, reason FROM printer_pairing_requests"
        " ORDER BY terminal_id, seq",
    ) == [
        (
            "term-s1",
            "sa2",
            False,
            "terminal term-s1 is checked out to sa1 at that time, not to sa2",
        ),
        ("term-s1", "sa1", True, None),
        ("term-s2", "sa1", False, "terminal term-s2 is not checked out to anyone at that time"),
    ]
    assert query(db_url, "SELECT printer_id, terminal_id, officer_id FROM printer_pairings") == [
        ("prn-s1", "term-s1", "sa1")
    ]


def test_the_holder_rule_and_the_pairing_decision_refuse_anyone_but_the_holder() -> None:
    from hub.domain.pairing import PairRequest, PrinterRecord, decide
    from hub.domain.terminals import holder_refusal

    assert holder_refusal("term-1", "sa1", "sa1") is None
    assert holder_refusal("term-1", "sa1", None) == (
        "terminal term-1 is not checked out to anyone at that time"
    )
    why = holder_refusal("term-1", "sa1", "sa2")
    assert why == "terminal term-1 is checked out to sa2 at that time, not to sa1"
    req = PairRequest("prn-1", "term-1", "sa1", START)
    printer = PrinterRecord("bt_printer", retired=False)
    assert decide(req, printer, None, None).accepted is True
    refused = decide(req, printer, None, None, refusal=why)
    assert (refused.accepted, refused.reason, refused.open_new, refused.close) == (
        False, why, False, (),
    )  # fmt: skip
