"""Printer pairing decisions (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.domain.pairing import Pairing, PairRequest, PrinterRecord, decide, may_unpair
from hub.domain.print_jobs import JobStatus, apply

T = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
PRINTER = PrinterRecord("bt_printer", retired=False)


def req(printer: str = "prn-1", terminal: str = "term-1", officer: str = "A") -> PairRequest:
    return PairRequest(printer, terminal, officer, T)


def test_a_free_printer_is_paired_and_the_terminals_old_printer_released():
    old = Pairing(7, "prn-0", "term-1", "A", T)
    d = decide(req(), PRINTER, None, old)
    assert d.accepted and d.open_new
    assert d.close == ((old, "replaced by printer prn-1"),)


def test_a_printer_on_another_terminal_is_refused_with_who_and_since_when():
    held = Pairing(3, "prn-1", "term-9", "B", T)
    d = decide(req(), PRINTER, held, None)
    assert not d.accepted and not d.open_new and not d.close
    assert d.reason is not None
    assert "term-9" in d.reason and "officer B" in d.reason and "2026-11-26T01:00:00" in d.reason


def test_rescanning_is_a_no_op_and_a_new_officer_on_the_same_terminal_takes_over():
    mine = Pairing(3, "prn-1", "term-1", "A", T)
    same = decide(req(), PRINTER, mine, mine)
    assert same.accepted and not same.open_new and not same.close
    handover = decide(req(officer="C"), PRINTER, mine, mine)
    assert handover.accepted and handover.open_new
    assert handover.close == ((mine, "terminal handed to officer C"),)


def test_unknown_retired_or_non_printer_devices_are_refused():
    assert "not in the inventory" in (decide(req(), None, None, None).reason or "")
    assert "retired" in (decide(req(), PrinterRecord("bt_printer", True), None, None).reason or "")
    cam = decide(req(), PrinterRecord("body_camera", False), None, None)
    assert not cam.accepted and "not a printer" in (cam.reason or "")


def test_only_the_holding_terminal_may_unpair():
    p = Pairing(1, "prn-1", "term-1", "A", T)
    assert may_unpair(p, "term-1")
    assert not may_unpair(p, "term-2")
    assert not may_unpair(None, "term-1")


def test_print_job_events_apply_in_seq_order_only():
    assert apply(None, "print_queued", 5) is JobStatus.QUEUED
    assert apply(5, "print_done", 7) is JobStatus.PRINTED
    assert apply(7, "print_sent", 6) is None  # a resend older than what we know
    assert apply(7, "print_sent", 7) is None  # the same event again
    assert apply(8, "print_queued", 9) is JobStatus.QUEUED  # retried after a failure
