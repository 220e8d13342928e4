"""The printer driver against the in-repo fake peripheral: GATT layouts, chunking, pacing,
status, drops and resume. No radio: the fake implements the same transport interface."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from device_drivers.bt_printer import gatt
from device_drivers.bt_printer.driver import DriverSettings, PrinterDriver
from device_drivers.bt_printer.errors import PrinterNotFound
from device_drivers.bt_printer.fake import FakePrinter, FakeTransport
from device_drivers.bt_printer.job import JobState, Language, PrintJob, Progress
from device_drivers.bt_printer.status import Paper

ADDR = "DC:0D:30:12:34:56"


def pages(n: int, size: int = 300) -> tuple[bytes, ...]:
    # Distinct, self-contained pages: ESC @, a numbered body, a feed and cut.
    return tuple(
        b"\x1b@"
        + f"page {i} ".encode()
        + bytes((i * 7 + k) % 90 + 32 for k in range(size))
        + b"\n\x1dV\x00"
        for i in range(n)
    )


def labels(n: int) -> tuple[bytes, ...]:
    return tuple(
        b"! 0 200 200 400 1\r\n"
        + f"TEXT 55 0 10 10 label {i} ".encode()
        + b"x" * 150
        + b"\r\nFORM\r\nPRINT\r\n"
        for i in range(n)
    )


async def no_sleep(_s: float) -> None:
    await asyncio.sleep(0)


def run(printer: FakePrinter, job: PrintJob, **kw: object) -> tuple[Progress, list[Progress]]:
    seen: list[Progress] = []

    async def main() -> Progress:
        driver = PrinterDriver(
            FakeTransport(printer),
            DriverSettings(address=ADDR, **kw),
            sleep=no_sleep,  # type: ignore[arg-type]
        )
        try:
            return await driver.print_job(job, seen.append)
        finally:
            await driver.close()

    return asyncio.run(main()), seen


# ------------------------------------------------------------------------ layouts ------
@pytest.mark.parametrize("layout", gatt.LAYOUTS, ids=lambda lay: lay.name)
def test_every_known_layout_is_resolved_with_its_status_channel(layout):
    printer = FakePrinter(ADDR, layout=layout)
    resolved = gatt.resolve(printer.services())
    assert resolved.layout == layout
    assert resolved.write.uuid == layout.write
    assert resolved.notify is not None and resolved.notify.uuid in layout.notify
    assert resolved.battery is not None
    assert resolved.chunk_size == 182


def test_chunk_size_falls_back_to_20_bytes_and_short_uuids_are_accepted():
    table = {"ff00": {"0xFF02": gatt.Characteristic("ff02", frozenset({"write"}))}}
    resolved = gatt.resolve(table)
    assert resolved.layout.name == "ff00"
    assert resolved.chunk_size == 20
    assert resolved.notify is None
    assert not resolved.write_without_response


def test_a_device_without_a_printer_service_is_refused_with_what_it_offers():
    with pytest.raises(gatt.NoPrinterService, match="180d"):
        gatt.resolve({gatt.uuid16(0x180D): {}})
    # A read-only characteristic where the write should be does not count.
    table = {
        gatt.uuid16(0xFFE0): {gatt.uuid16(0xFFE1): gatt.Characteristic("ffe1", frozenset({"read"}))}
    }
    with pytest.raises(gatt.NoPrinterService):
        gatt.resolve(table)


def test_scan_picks_the_printer_advertising_a_known_service():
    other = FakePrinter("AA:AA:AA:AA:AA:AA", advertise_service=False)
    printer = FakePrinter(ADDR, layout=gatt.LAYOUTS[2])

    async def main() -> str:
        return await PrinterDriver(FakeTransport(other, printer), DriverSettings()).find()

    assert asyncio.run(main()) == ADDR

    async def none() -> str:
        return await PrinterDriver(FakeTransport(other), DriverSettings()).find()

    with pytest.raises(PrinterNotFound, match="scan the printer's label"):
        asyncio.run(none())


# ----------------------------------------------------------------------- printing ------
@pytest.mark.parametrize("max_write", [None, 20, 100, 182, 509])
def test_job_prints_each_page_once_in_chunks_within_the_mtu(max_write):
    printer = FakePrinter(ADDR, max_write=max_write)
    job = PrintJob("job-1", pages(3, size=1200))
    final, seen = run(printer, job)
    assert final.state is JobState.PRINTED and final.confirmed == 3 and not final.resumed
    assert bytes(printer.paper) == b"".join(job.pages)
    limit = max_write or 20
    assert max(printer.writes) <= limit
    assert max(printer.writes) == limit
    states = [p.state for p in seen]
    assert states.index(JobState.SENT) < states.index(JobState.PRINTED)
    assert states[-1] is JobState.PRINTED


def test_chunks_are_paced_with_the_configured_interval():
    slept: list[float] = []

    async def record(s: float) -> None:
        slept.append(s)
        await asyncio.sleep(0)

    printer = FakePrinter(ADDR, max_write=20)
    job = PrintJob("job-p", pages(1, size=100))

    async def main() -> Progress:
        driver = PrinterDriver(
            FakeTransport(printer), DriverSettings(address=ADDR, chunk_interval_s=0.015), record
        )
        return await driver.print_job(job)

    assert asyncio.run(main()).state is JobState.PRINTED
    assert slept == [0.015] * len(printer.writes)


def test_a_drop_mid_page_resumes_at_that_page_and_never_reprints_a_confirmed_one():
    job = PrintJob("job-2", pages(4))
    # Drop in the middle of the third page.
    cut = len(job.pages[0]) * 2 + 3 * 2 + 150
    printer = FakePrinter(ADDR, drop_after_bytes=[cut])
    final, _ = run(printer, job)
    assert final.state is JobState.PRINTED and final.resumed
    assert printer.connects == 2
    for page in job.pages:
        assert printer.paper.count(page) == 1  # every page complete exactly once
    # Pages 1, 2 and 4 were sent once; page 3 once in part (the receipt printer printed what
    # arrived before the drop) and once in full.
    assert printer.paper.startswith(job.pages[0] + job.pages[1])
    assert printer.paper.endswith(job.pages[2] + job.pages[3])


def test_a_label_printer_discards_a_cut_label_so_the_output_is_exact():
    job = PrintJob("job-3", labels(3), Language.CPCL)
    printer = FakePrinter(ADDR, language=Language.CPCL, drop_after_bytes=[len(job.pages[0]) + 40])
    final, _ = run(printer, job)
    assert final.state is JobState.PRINTED and final.resumed
    assert bytes(printer.paper) == b"".join(job.pages)


def test_paper_out_fails_the_job_with_the_reason_and_a_retry_prints_only_the_rest():
    job = PrintJob("job-4", pages(4))
    printer = FakePrinter(ADDR, pages_of_paper=2)
    failed, _ = run(printer, job)
    assert failed.state is JobState.FAILED and failed.reason == "paper_out"
    assert failed.confirmed == 2
    assert bytes(printer.paper) == job.pages[0] + job.pages[1]

    printer.pages_of_paper = None  # the officer loads a new roll

    async def again() -> Progress:
        driver = PrinterDriver(FakeTransport(printer), DriverSettings(address=ADDR), no_sleep)
        return await driver.print_job(job, progress=failed)

    done = asyncio.run(again())
    assert done.state is JobState.PRINTED and done.confirmed == 4
    assert bytes(printer.paper) == b"".join(job.pages)


def test_cover_open_reported_by_asb_stops_before_the_next_page():
    job = PrintJob("job-5", pages(2))
    printer = FakePrinter(ADDR)

    async def main() -> tuple[Progress, PrinterDriver]:
        driver = PrinterDriver(FakeTransport(printer), DriverSettings(address=ADDR), no_sleep)
        await driver.connect()
        assert printer.link is not None
        printer.link._notify(bytes([0x30, 0x00, 0x00, 0x00]))  # ASB: cover open
        await asyncio.sleep(0)
        return await driver.print_job(job), driver

    final, driver = asyncio.run(main())
    assert final.state is JobState.FAILED and final.reason == "cover_open"
    assert driver.status.cover_open is True and driver.status.paper is Paper.OK
    assert printer.paper == b""


def test_a_printer_that_does_not_come_back_fails_the_job_as_connection_lost():
    job = PrintJob("job-6", pages(2))
    printer = FakePrinter(ADDR, drop_after_bytes=[100], refuse_connects=0)

    async def main() -> Progress:
        driver = PrinterDriver(
            FakeTransport(printer),
            DriverSettings(address=ADDR, reconnect_attempts=3),
            no_sleep,
        )
        printer.refuse_connects = 0
        first = asyncio.ensure_future(driver.print_job(job))
        while printer.connects == 0:
            await asyncio.sleep(0)
        printer.refuse_connects = 10  # out of range from now on
        return await first

    final = asyncio.run(main())
    assert final.state is JobState.FAILED
    assert final.reason is not None and final.reason.startswith("connection_lost")
    assert final.confirmed == 0 and final.resumed


def test_without_a_status_channel_the_last_chunk_of_a_page_is_written_with_response():
    job = PrintJob("job-7", pages(2))
    printer = FakePrinter(ADDR, notify=False, battery_pct=None)
    responses: list[bool] = []

    async def main() -> Progress:
        transport = FakeTransport(printer)
        driver = PrinterDriver(transport, DriverSettings(address=ADDR), no_sleep)
        await driver.connect()
        assert printer.link is not None
        original = printer.link.write

        async def spy(uuid: str, data: bytes, *, response: bool) -> None:
            responses.append(response)
            await original(uuid, data, response=response)

        printer.link.write = spy  # type: ignore[method-assign]
        return await driver.print_job(job)

    final = asyncio.run(main())
    assert final.state is JobState.PRINTED
    assert bytes(printer.paper) == b"".join(job.pages)
    assert responses.count(True) == 2  # one receipt per page
    per_page = len(responses) // 2
    assert responses[per_page - 1] is True and responses[-1] is True


def test_battery_level_notifications_update_the_status():
    printer = FakePrinter(ADDR, battery_pct=64)

    async def main() -> tuple[int | None, int | None]:
        driver = PrinterDriver(FakeTransport(printer), DriverSettings(address=ADDR), no_sleep)
        await driver.connect()
        await asyncio.sleep(0)
        first = driver.status.battery_pct
        assert printer.link is not None
        printer.link.set_battery(15)
        await asyncio.sleep(0)
        return first, driver.status.battery_pct

    assert asyncio.run(main()) == (64, 15)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 5),
    drops=st.lists(st.integers(1, 2500), max_size=4, unique=True),
    max_write=st.sampled_from([None, 20, 64, 182]),
    language=st.sampled_from(list(Language)),
)
def test_any_drop_schedule_prints_every_page_completely_exactly_once(n, drops, max_write, language):
    job = PrintJob("job-h", labels(n) if language is Language.CPCL else pages(n), language)
    printer = FakePrinter(
        ADDR, max_write=max_write, language=language, drop_after_bytes=sorted(drops)
    )
    final, _ = run(printer, job)
    assert final.state is JobState.PRINTED
    for page in job.pages:
        assert printer.paper.count(page) == 1
    if language is Language.CPCL:
        assert bytes(printer.paper) == b"".join(job.pages)
