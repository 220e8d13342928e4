"""The hub's device-event worker against real Mosquitto and TimescaleDB: printer pairing and
its refusals, print job lifecycles, the append-only evidence register, command results."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from tests.helpers import msg, query, register, wait_until

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


def ev(device_type: str, device_id: str) -> str:
    return f"ehub/v1/{device_type}/{device_id}/event"


def commands_for(publisher: Any, terminal: str) -> list[dict[str, Any]]:
    return [
        json.loads(p)
        for t, p in publisher.received
        if t == f"ehub/v1/mobile_terminal/{terminal}/cmd"
    ]


def pair(publisher: Any, terminal: str, seq: int, printer: str, officer: str) -> None:
    publisher.publish(
        ev("mobile_terminal", terminal),
        msg(
            seq,
            T0 + timedelta(seconds=seq),
            event="printer_paired",
            printer_id=printer,
            officer_id=officer,
        ),
    )


def hand_out(db_url: str, *pairs: tuple[str, str]) -> None:
    """Check each terminal out to its officer from a day before T0 (only the holder of a
    terminal may pair through it)."""
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO org_units (id, parent_id, level, name)"
            " VALUES ('team-h', NULL, 'city', 'H') ON CONFLICT DO NOTHING"
        )
        for terminal, officer in pairs:
            conn.execute(
                "INSERT INTO staff (staff_id, name, kind, org_unit_id) VALUES (%s, %s, 'officer',"
                " 'team-h') ON CONFLICT DO NOTHING",
                (officer, officer),
            )
            conn.execute(
                "INSERT INTO custody (device_id, staff_id, checked_out_at, out_by)"
                " VALUES (%s, %s, %s, 'test')",
                (terminal, officer, T0 - timedelta(days=1)),
            )


def test_pairing_is_recorded_refused_for_another_officers_terminal_and_idempotent(
    db_url, publisher, start_hub_worker
):
    register(
        db_url,
        ("term-h001", "mobile_terminal"),
        ("term-h002", "mobile_terminal"),
        ("prn-h001", "bt_printer"),
        ("cam-h001", "body_camera"),
    )
    hand_out(db_url, ("term-h001", "SZ-A"), ("term-h002", "SZ-B"))
    publisher.subscribe("ehub/v1/mobile_terminal/+/cmd")
    start_hub_worker(db_url)

    pair(publisher, "term-h001", 1, "prn-h001", "SZ-A")
    (first,) = wait_until(lambda: commands_for(publisher, "term-h001"))
    assert first["cmd"] == "pairing_result" and first["args"]["accepted"] is True
    assert query(
        db_url, "SELECT printer_id, terminal_id, officer_id, unpaired_at FROM printer_pairings"
    ) == [("prn-h001", "term-h001", "SZ-A", None)]

    # Another officer's terminal scans the same printer: refused, saying who holds it.
    pair(publisher, "term-h002", 1, "prn-h001", "SZ-B")
    (refusal,) = wait_until(lambda: commands_for(publisher, "term-h002"))
    assert refusal["args"]["accepted"] is False
    assert "term-h001" in refusal["args"]["reason"] and "SZ-A" in refusal["args"]["reason"]
    assert query(db_url, "SELECT count(*) FROM printer_pairings")[0][0] == 1

    # The first request redelivered (QoS 1 is at least once): the same answer, nothing new.
    pair(publisher, "term-h001", 1, "prn-h001", "SZ-A")
    again = wait_until(
        lambda: (
            len(commands_for(publisher, "term-h001")) == 2 and commands_for(publisher, "term-h001")
        )
    )
    assert again[1] == again[0]
    assert query(db_url, "SELECT count(*) FROM printer_pairing_requests")[0][0] == 2

    # Not a printer, or not in the inventory at all: refused with the reason.
    pair(publisher, "term-h002", 2, "cam-h001", "SZ-B")
    pair(publisher, "term-h002", 3, "prn-h999", "SZ-B")
    answers = wait_until(
        lambda: (
            len(commands_for(publisher, "term-h002")) == 3 and commands_for(publisher, "term-h002")
        )
    )
    assert "body_camera, not a printer" in answers[1]["args"]["reason"]
    assert "not in the inventory" in answers[2]["args"]["reason"]

    # The holder unpairs; now the second officer gets it.
    publisher.publish(
        ev("mobile_terminal", "term-h001"),
        msg(
            2,
            T0 + timedelta(minutes=5),
            event="printer_unpaired",
            printer_id="prn-h001",
            officer_id="SZ-A",
        ),
    )
    wait_until(
        lambda: query(
            db_url, "SELECT unpair_reason FROM printer_pairings WHERE unpaired_at IS NOT NULL"
        )
    )
    pair(publisher, "term-h002", 4, "prn-h001", "SZ-B")
    answers = wait_until(
        lambda: (
            len(commands_for(publisher, "term-h002")) == 4 and commands_for(publisher, "term-h002")
        )
    )
    assert answers[3]["args"]["accepted"] is True
    rows = query(
        db_url,
        "SELECT terminal_id, officer_id, unpaired_at IS NULL FROM printer_pairings ORDER BY id",
    )
    assert rows == [("term-h001", "SZ-A", False), ("term-h002", "SZ-B", True)]
    # The commands are on record, and their results move them forward only.
    cmd_id = answers[3]["cmd_id"]
    topic = "ehub/v1/mobile_terminal/term-h002/cmd_result"
    publisher.publish(topic, msg(5, T0, cmd_id=cmd_id, status="done", detail="paired"))
    publisher.publish(topic, msg(6, T0, cmd_id=cmd_id, status="accepted"))  # late, stale
    wait_until(
        lambda: (
            query(db_url, "SELECT status FROM device_commands WHERE cmd_id = %s", cmd_id)
            == [("done",)]
        )
    )


def test_print_jobs_move_forward_only_whatever_order_events_arrive_in(
    db_url, publisher, start_hub_worker
):
    register(db_url, ("term-h010", "mobile_terminal"))
    start_hub_worker(db_url)
    topic = ev("mobile_terminal", "term-h010")
    base = {"job_id": "job-1", "printer_id": "prn-h010"}
    publisher.publish(
        topic, msg(10, T0, event="print_queued", case_number="C-1", cmd_id="c1", **base)
    )
    publisher.publish(topic, msg(12, T0, event="print_done", pages=2, resumed=True, **base))
    publisher.publish(topic, msg(11, T0, event="print_sent", **base))  # resent after done
    publisher.publish(topic, msg(20, T0, event="print_queued", job_id="job-2"))
    publisher.publish(topic, msg(21, T0, event="print_failed", job_id="job-2", reason="paper_out"))
    rows = wait_until(
        lambda: (
            (
                r := query(
                    db_url,
                    "SELECT job_id, status, last_seq, pages_printed, resumed, case_number, cmd_id,"
                    " reason FROM print_jobs ORDER BY job_id",
                )
            )
            and len(r) == 2
            and r[1][1] == "failed"
            and r
        )
    )
    wait_until(
        lambda: query(db_url, "SELECT last_seq FROM print_jobs WHERE job_id = 'job-1'") == [(12,)]
    )
    rows = query(
        db_url,
        "SELECT job_id, status, last_seq, pages_printed, resumed, case_number,"
        " cmd_id, reason FROM print_jobs ORDER BY job_id",
    )
    assert rows == [
        ("job-1", "printed", 12, 2, True, "C-1", "c1", None),
        ("job-2", "failed", 21, 0, False, None, None, "paper_out"),
    ]


MANIFEST: dict[str, Any] = {
    "event": "evidence_manifest",
    "camera_id": "cam-h001",
    "file_id": "20261126_090000_0001.mp4",
    "officer_id": "SZ-A",
    "started_at": "2026-11-26T09:00:00+08:00",
    "ended_at": "2026-11-26T09:04:10+08:00",
    "size_bytes": 52_428_800,
    "media_type": "video/mp4",
    "sha256": "ab" * 32,
    "registered_sha256": "cd" * 32,
    "integrity": "hash_changed",
    "storage_uri": "file:///srv/evidence/cam-h001/20261126_090000_0001.mp4",
    "offload_resumed": True,
}


def test_evidence_register_keeps_every_manifest_once_and_refuses_changes(
    db_url, publisher, start_hub_worker
):
    register(db_url, ("dock-h001", "camera_dock"))
    start_hub_worker(db_url)
    topic = ev("camera_dock", "dock-h001")
    publisher.publish(topic, msg(1, T0, **MANIFEST))
    publisher.publish(topic, msg(1, T0, **MANIFEST))  # redelivered
    publisher.publish(
        topic,
        msg(
            2,
            T0,
            **{**MANIFEST, "file_id": "b.mp4", "registered_sha256": "ab" * 32, "integrity": "ok"},
        ),
    )
    wait_until(lambda: query(db_url, "SELECT count(*) FROM evidence_files")[0][0] == 2)
    rows = query(
        db_url,
        "SELECT file_id, integrity, offload_resumed, officer_id, size_bytes"
        " FROM evidence_files ORDER BY seq",
    )
    assert rows == [
        ("20261126_090000_0001.mp4", "hash_changed", True, "SZ-A", 52_428_800),
        ("b.mp4", "ok", True, "SZ-A", 52_428_800),
    ]
    with psycopg.connect(db_url) as conn:
        for sql in (
            "UPDATE evidence_files SET sha256 = 'x'",
            "DELETE FROM evidence_files",
            "TRUNCATE evidence_files",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(sql)
            conn.rollback()
    assert query(db_url, "SELECT count(*) FROM evidence_files")[0][0] == 2
