"""On-the-spot decisions on the terminal: the number wallet, the fill-in and its check, the
print over a 20-byte-MTU BLE link, the report, voiding and returning, and a restart."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from device_drivers.bt_printer.driver import DriverSettings, PrinterDriver
from device_drivers.bt_printer.fake import FakePrinter, FakeTransport
from device_drivers.mobile_terminal.agent import TerminalAgent
from device_drivers.mobile_terminal.onspot import NumberState, NumberWallet, OnSpotRefused
from device_drivers.mobile_terminal.printing import PrintSpooler
from device_drivers.simulator.onspot import make_on_spot_decision
from hub.domain.cases.numbering import format_number
from schemas.documents import OnSpotDecision, document_sha256
from schemas.messages import NumberBlockArgs, OnSpotDecisionReport, block_number
from tests.device_drivers.mobile_terminal.test_agent import MAC, T0, accepted, agent, cmd, valid
from tests.factories.documents import PAYMENT, REMEDIES, SUBJECT

BLOCK: dict[str, Any] = NumberBlockArgs(
    block_id="nb-1",
    subject=SUBJECT,
    prefix="深福城执罚",
    year=2026,
    first=41,
    last=43,
    remedies=REMEDIES,
    payment=PAYMENT,
).model_dump(mode="json", exclude_none=True)


def with_block(a: TerminalAgent) -> None:
    (res,) = valid(a.on_command(cmd("nb-cmd-1", "number_block", BLOCK), T0), T0)
    assert res.status.value == "done" and "3 number(s) free" in (res.detail or "")


def spool(a: TerminalAgent, printer: FakePrinter) -> list[Any]:
    async def main() -> list[Any]:
        async def no_sleep(_s: float) -> None:
            await asyncio.sleep(0)

        driver = PrinterDriver(FakeTransport(printer), DriverSettings(address=MAC), no_sleep)
        spooler = PrintSpooler(a, lambda _pid: driver)
        spooler.poll()
        await asyncio.gather(*spooler.tasks)
        return a.drain(T0)

    return valid(asyncio.run(main()), T0)


def test_block_numbers_are_formatted_as_the_hub_numbers_them():
    for n in (1, 42, 999_999):
        assert block_number("深福城执罚", 2026, n) == format_number("深福城执罚", 2026, n)


def test_a_decision_is_filled_on_the_next_number_printed_at_20_byte_mtu_and_reported():
    a = agent()
    accepted(a)
    with_block(a)
    number = make_on_spot_decision(a, T0)
    assert number == "深福城执罚〔2026〕第000041号"
    (queued,) = valid(a.drain(T0), T0)
    assert queued.event == "print_queued" and queued.case_number == number
    printer = FakePrinter(MAC, max_write=20)
    events = spool(a, printer)
    assert max(printer.writes) <= 20
    assert number.encode("gb18030") in bytes(printer.paper)
    names = [getattr(e, "event", None) for e in events]
    assert names == ["print_sent", "print_done", "on_spot_decision"]
    report = events[-1]
    assert isinstance(report, OnSpotDecisionReport)
    assert report.number == number and report.matter_code == "SZ-SR-001"
    assert report.print_result.state.value == "printed" and report.print_result.pages == 1
    assert report.sha256 == document_sha256(report.document)
    assert report.document.missing() == []  # the receipt is settled in what is filed
    assert a.wallet.state(number) is NumberState.USED
    assert make_on_spot_decision(a, T0) == "深福城执罚〔2026〕第000042号"


def test_an_incomplete_decision_is_refused_and_spends_no_number():
    a = agent()
    accepted(a)
    with_block(a)
    with pytest.raises(OnSpotRefused, match=r"Art. 52 \(Art. 42\): at least two officers"):
        make_on_spot_decision(a, T0, officers=[])
    with pytest.raises(OnSpotRefused, match=r"Art\. 51"):
        make_on_spot_decision(a, T0, fine=Decimal(500))  # over 200 yuan for a citizen
    assert a.wallet.free() == [block_number("深福城执罚", 2026, n) for n in (41, 42, 43)]
    assert a.drain(T0) == []


def test_without_a_block_or_a_printer_nothing_is_printed():
    a = agent()
    accepted(a)
    with pytest.raises(OnSpotRefused, match="no free number"):
        make_on_spot_decision(a, T0)
    b = agent()
    with_block(b)
    with pytest.raises(OnSpotRefused, match="no printer is paired"):
        make_on_spot_decision(b, T0)
    assert len(b.wallet.free()) == 3


def test_a_failed_print_is_reprinted_or_voided_and_numbers_are_returned():
    a = agent()
    accepted(a)
    with_block(a)
    number = make_on_spot_decision(a, T0)
    a.drain(T0)
    failed = spool(a, FakePrinter(MAC, pages_of_paper=0))
    assert [e.event for e in failed][-1] == "print_failed"  # not reported: not printed
    assert a.wallet.state(number) is NumberState.PRINTING
    a.void_number(number, "卡纸，文书未能打印")
    (voided,) = valid(a.drain(T0), T0)
    assert voided.event == "number_voided" and voided.number == number
    returned = a.return_numbers()
    (ret,) = valid(a.drain(T0), T0)
    assert ret.event == "numbers_returned" and ret.numbers == returned and len(returned) == 2
    with pytest.raises(OnSpotRefused):
        a.void_number(returned[0], "again")


def test_the_wallet_survives_a_restart(tmp_path: Path):
    path = tmp_path / "wallet.json"
    a = agent(wallet=NumberWallet.load(path))
    accepted(a)
    with_block(a)
    number = make_on_spot_decision(a, T0)
    # The terminal restarts while the decision is printing: the number and the decision stay.
    b = agent(wallet=NumberWallet.load(path))
    accepted(b)
    assert b.wallet.state(number) is NumberState.PRINTING
    doc = OnSpotDecision.model_validate_json(json.dumps(b.wallet.pending[number].document))
    assert doc.number == number
    assert b.wallet.next_free() == block_number("深福城执罚", 2026, 42)
    # A redelivered block command changes nothing.
    b.on_command(cmd("nb-cmd-2", "number_block", BLOCK), T0)
    assert b.wallet.state(number) is NumberState.PRINTING
    assert json.loads(path.read_text("utf-8"))["numbers"][number] == "printing"
