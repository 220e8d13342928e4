"""The terminal agent (pure) and its print spooler over the fake printer."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from device_drivers.agent import Message
from device_drivers.bt_printer.driver import DriverSettings, PrinterDriver
from device_drivers.bt_printer.fake import FakePrinter, FakeTransport
from device_drivers.mobile_terminal.agent import TerminalAgent
from device_drivers.mobile_terminal.printing import PrintSpooler
from device_drivers.simulator.geo import STREETS, Route
from schemas.messages import Command, parse_payload
from schemas.topics import Channel, DeviceType

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 09:00 in Shenzhen
MAC = "DC:0D:30:12:34:56"
PRINT_ARGS: dict[str, Any] = {
    "job_id": "job-1",
    "doc_type": "rectification_notice",
    "title": "责令改正通知书",
    "case_number": "深福华执改〔2026〕第0042号",
    "officer_name": "李明",
    "officer_badge": "44030012",
    "street": "福田区华强北街道华强北路1002号",
    "issued_at": "2026-11-26T10:05:00+08:00",
    "legal_basis": "《深圳经济特区市容和环境卫生管理条例》",
    "body": "经查，你（单位）在华强北路人行道上占道经营，影响市容。"
    "请于收到本通知书之日起立即改正。",
    "case_url": "https://ehub.example.cn/cases/2026-0042",
    "team_name": "福田区华强北街道综合行政执法队",
}


def agent(**kw: Any) -> TerminalAgent:
    _, _, pts = STREETS[2]
    defaults: dict[str, Any] = {
        "device_id": "term-0001",
        "officer_id": "SZFT00042",
        "route": Route(list(pts)),
        "rng": random.Random(1),
        "shift_start": T0,
        "shift_end": T0 + timedelta(hours=8),
        "printer_label": "prn-0001",
    }
    return TerminalAgent(**(defaults | kw))


def valid(messages: list[Message], now: datetime, seq0: int = 1) -> list[Any]:
    """Every message must be a valid v1 payload for a terminal."""
    out = []
    for i, (channel, fields) in enumerate(messages):
        doc = {"v": 1, "seq": seq0 + i, "ts": now.isoformat(), **fields}
        out.append(parse_payload(DeviceType.MOBILE_TERMINAL, channel, json.dumps(doc)))
    return out


def cmd(cmd_id: str, name: str, args: dict[str, Any], **kw: Any) -> Command:
    return Command(v=1, cmd_id=cmd_id, ts=T0, cmd=name, args=args, **kw)


def tick(a: TerminalAgent, now: datetime) -> list[Message]:
    m = a.next_message(now)
    return [m] if m else []


def test_a_shift_signs_in_with_a_fix_reports_track_points_and_signs_out():
    a = agent(printer_label=None)
    before = tick(a, T0 - timedelta(minutes=5))
    assert [c for c, _ in before] == [Channel.STATUS]
    assert "officer_id" not in before[0][1]
    sign_in = tick(a, T0)
    (msg,) = valid(sign_in, T0)
    assert msg.event == "sign_in" and msg.officer_id == "SZFT00042" and msg.lat is not None
    track = []
    for s in range(1, 121):
        now = T0 + timedelta(seconds=s)
        track += valid(tick(a, now), now)
    locations = [m for m in track if not hasattr(m, "event") and hasattr(m, "lat")]
    assert 10 <= len(locations) <= 13  # every 10 s for two minutes
    assert len({(m.lat, m.lon) for m in locations}) > 5  # the officer walks
    end = T0 + timedelta(hours=8)
    (out,) = valid(tick(a, end), end)
    assert out.event == "sign_out"


def test_pairing_waits_for_the_hub_and_a_refusal_is_not_retried():
    a = agent()
    tick(a, T0)  # sign in
    (req,) = valid(tick(a, T0 + timedelta(seconds=1)), T0)
    assert req.event == "printer_paired" and req.printer_id == "prn-0001"
    # Nothing more is asked while the hub has not answered.
    assert all(f.get("event") != "printer_paired" for _, f in tick(a, T0 + timedelta(seconds=2)))
    refused = {
        "printer_id": "prn-0001",
        "officer_id": "SZFT00042",
        "accepted": False,
        "reason": "paired to term-0009 (officer SZFT00077) since 08:12",
    }
    (res,) = valid(a.on_command(cmd("c1", "pairing_result", refused), T0), T0)
    assert res.status.value == "done" and "term-0009" in (res.detail or "")
    assert a.paired_printer is None
    for s in range(3, 60):
        assert all(
            f.get("event") != "printer_paired" for _, f in tick(a, T0 + timedelta(seconds=s))
        )
    (rej,) = valid(a.on_command(cmd("c2", "print", PRINT_ARGS), T0), T0)
    assert rej.status.value == "rejected" and "no printer is paired" in (rej.detail or "")


def run_print(a: TerminalAgent, printer: FakePrinter, command: Command) -> list[Any]:
    async def main() -> list[Message]:
        async def no_sleep(_s: float) -> None:
            await asyncio.sleep(0)

        driver = PrinterDriver(FakeTransport(printer), DriverSettings(address=MAC), no_sleep)
        spooler = PrintSpooler(a, lambda _pid: driver)
        out = a.on_command(command, T0)
        spooler.poll()
        await asyncio.gather(*spooler.tasks)
        return out + a.drain(T0)

    return valid(asyncio.run(main()), T0)


def accepted(a: TerminalAgent) -> None:
    ok = {"printer_id": "prn-0001", "officer_id": "SZFT00042", "accepted": True}
    a.on_command(cmd("pair-1", "pairing_result", ok), T0)
    assert a.paired_printer == "prn-0001"


def test_a_print_command_goes_queued_sent_printed_and_is_answered_done():
    a = agent()
    accepted(a)
    printer = FakePrinter(MAC)
    msgs = run_print(a, printer, cmd("c3", "print", {**PRINT_ARGS, "copies": 2}))
    kinds = [getattr(m, "event", None) or m.status.value for m in msgs]
    assert kinds == ["accepted", "print_queued", "print_sent", "print_done", "done"]
    assert msgs[3].pages == 2 and msgs[3].printer_id == "prn-0001"
    text = bytes(printer.paper).decode("gb18030", errors="replace")
    assert "深福华执改〔2026〕第0042号" in text and "存根联" in text


def test_paper_out_fails_the_job_and_the_command_with_the_reason():
    a = agent()
    accepted(a)
    msgs = run_print(a, FakePrinter(MAC, pages_of_paper=0), cmd("c4", "print", PRINT_ARGS))
    failed = [m for m in msgs if getattr(m, "event", None) == "print_failed"]
    assert failed and failed[0].reason == "paper_out" and failed[0].pages_printed == 0
    assert msgs[-1].status.value == "failed" and msgs[-1].detail == "paper_out"


def test_a_bad_document_fails_with_a_render_reason_not_a_crash():
    a = agent()
    accepted(a)
    msgs = run_print(a, FakePrinter(MAC), cmd("c5", "print", {**PRINT_ARGS, "doc_type": "memo"}))
    assert msgs[-1].status.value == "failed" and "unknown doc_type" in (msgs[-1].detail or "")


def test_commands_are_answered_once_even_when_redelivered_and_bad_ones_rejected():
    a = agent()
    accepted(a)
    first = a.on_command(cmd("c6", "print", PRINT_ARGS), T0)
    again = a.on_command(cmd("c6", "print", PRINT_ARGS), T0)
    assert first == again and len(a.take_print_requests()) == 1
    (late,) = valid(
        a.on_command(cmd("c7", "config", {}, expires_at=T0 - timedelta(seconds=1)), T0), T0
    )
    assert late.status.value == "rejected" and "expired" in (late.detail or "")
    (unk,) = valid(a.on_command(cmd("c8", "reboot", {}), T0), T0)
    assert unk.status.value == "rejected" and "unknown_command" in (unk.detail or "")
    (bad,) = valid(a.on_command(cmd("c9", "dispatch", {"incident_id": "i"}), T0), T0)
    assert bad.status.value == "rejected" and "lat" in (bad.detail or "")
    (cfg,) = valid(a.on_command(cmd("c10", "config", {"location_interval_s": 5}), T0), T0)
    assert cfg.status.value == "done" and a.location_interval_s == 5


@pytest.mark.parametrize("metres", [150, 600])
def test_a_dispatch_order_is_accepted_then_done_on_arrival(metres):
    a = agent(printer_label=None, speed_kmh=18.0)
    tick(a, T0)
    lat, lon = a.route.position()
    target = {"incident_id": "inc-7", "lat": lat + metres / 111_000, "lon": lon}
    (acc,) = valid(a.on_command(cmd("d1", "dispatch", target), T0), T0)
    assert acc.status.value == "accepted"
    done = []
    for s in range(1, 400):
        now = T0 + timedelta(seconds=s)
        tick(a, now)
        done += [m for m in valid(a.drain(now), now) if m.cmd_id == "d1"]
        if done:
            break
    assert done and done[0].status.value == "done" and "inc-7" in (done[0].detail or "")
    # 18 km/h is 5 m/s: arrival takes about (metres - 30) / 5 seconds.
    assert abs(s - (metres - 30) / 5) <= 3


def test_a_contract_document_is_laid_out_on_the_terminal_and_printed():
    from schemas.documents import DocType, verification_url
    from tests.factories.documents import VERIFY_BASE, sample

    doc = sample(DocType.ON_SPOT_DECISION)
    args = {
        "job_id": "job-osd-1",
        "document": json.loads(doc.model_dump_json()),
        "verify_base": VERIFY_BASE,
        "copies": 2,
    }
    a = agent()
    accepted(a)
    printer = FakePrinter(MAC)
    msgs = run_print(a, printer, cmd("c9", "print", args))
    kinds = [getattr(m, "event", None) or m.status.value for m in msgs]
    assert kinds == ["accepted", "print_queued", "print_sent", "print_done", "done"]
    assert msgs[1].case_number == doc.number  # an on-the-spot decision is its own case
    text = bytes(printer.paper).decode("gb18030", errors="replace")
    assert text.count("当场行政处罚决定书") == 2 and "存根联" in text
    assert verification_url(VERIFY_BASE, doc.type, doc.number) in text  # the QR's payload


def test_an_incomplete_contract_document_is_rejected_by_the_contract_not_printed():
    a = agent()
    accepted(a)
    bad = {"job_id": "job-2", "document": {"doc_type": "on_spot_decision"}, "verify_base": "x"}
    out = a.on_command(cmd("c10", "print", bad), T0)
    msgs = valid(out, T0)
    assert msgs[-1].status.value == "rejected"
    assert "document" in (msgs[-1].detail or "") and "verify_base" in (msgs[-1].detail or "")
    assert a.take_print_requests() == []
