"""Case and document numbers without gaps, and number blocks for offline terminals. Pure.

Numbers run per legal subject and year (CASES.md §3, §4: "case numbers run without gaps"),
formatted ``{prefix}〔{year}〕第{n:06d}号`` (e.g. 深福执罚〔2026〕第000123号). The database sequence
and its lock belong to the service; the rule — the next number is the last one plus one, and
every number taken is accounted for — is here.

On-the-spot decisions are printed on pre-numbered forms (Art. 52 "编有号码"): the number exists
before the form is filled in, and terminals work offline. So the hub allocates a BLOCK of
consecutive numbers to a terminal in advance, and every number then ends in exactly one state::

    (never taken) ──allocate_block──> allocated@terminal ──mark_printed──> printed  (with its case)
                                                 │ ──void (a reason)──> voided
                                                 └ ──return──> returned   (never reissued)
    (never taken) ──take (the hub numbers an ordinary case)──> printed

Invariants (``NumberLedger.check``, held by Hypothesis in the tests): every number from 1 to the
last one taken has exactly one record (none lost, none in two states); a printed number was
printed once (never used twice); only the terminal holding a number can print, void or return
it; ``open_numbers()`` reports what each terminal still holds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType

from hub.domain.cases.refusals import Rule, RuleRefused

MAX_NUMBER = 999_999  # six digits (第{n:06d}号)
_NUMBER = re.compile(r"^(?P<prefix>.+)〔(?P<year>\d{4})〕第(?P<n>\d{6})号$")


@dataclass(frozen=True)
class CaseNumber:
    prefix: str
    year: int
    n: int

    def __str__(self) -> str:
        return format_number(self.prefix, self.year, self.n)


def format_number(prefix: str, year: int, n: int) -> str:
    if not 1 <= n <= MAX_NUMBER:
        raise ValueError(f"a number runs from 1 to {MAX_NUMBER}, not {n}")
    return f"{prefix}〔{year}〕第{n:06d}号"


def parse_number(text: str) -> CaseNumber | None:
    m = _NUMBER.match(text)
    if m is None or int(m["n"]) == 0:
        return None
    return CaseNumber(m["prefix"], int(m["year"]), int(m["n"]))


def next_number(last: int) -> int:
    """The number after ``last`` (0 when none was taken this year): no gaps, no reuse."""
    if last >= MAX_NUMBER:
        raise RuleRefused(Rule.CASE_NUMBER, f"the year's numbers are used up ({MAX_NUMBER})")
    return last + 1


class NumberState(StrEnum):
    ALLOCATED = "allocated"  # held by a terminal, not yet used
    PRINTED = "printed"  # used on a document (final)
    VOIDED = "voided"  # spoiled, with a reason (final)
    RETURNED = "returned"  # handed back unused (final: a returned form is never reissued)


@dataclass(frozen=True)
class NumberRecord:
    state: NumberState
    terminal: str | None  # None for numbers the hub took itself
    ref: str = ""  # the case (printed) or the reason's hash (voided)


@dataclass(frozen=True)
class Block:
    terminal: str
    first: int
    last: int


@dataclass(frozen=True)
class NumberLedger:
    """The numbers of one series (legal subject, year, document kind)."""

    prefix: str
    year: int
    last: int = 0  # the last number taken: 1..last all have a record
    records: Mapping[int, NumberRecord] = field(default_factory=lambda: MappingProxyType({}))
    blocks: tuple[Block, ...] = ()

    def format(self, n: int) -> str:
        return format_number(self.prefix, self.year, n)

    def _with(
        self,
        changes: dict[int, NumberRecord],
        last: int | None = None,
        blocks: tuple[Block, ...] | None = None,
    ) -> NumberLedger:
        return replace(
            self,
            records=MappingProxyType({**self.records, **changes}),
            last=self.last if last is None else last,
            blocks=self.blocks if blocks is None else blocks,
        )

    def take(self, ref: str) -> tuple[NumberLedger, int]:
        """The hub numbers a document itself (an ordinary case's 立案): the next number, used."""
        n = next_number(self.last)
        return self._with({n: NumberRecord(NumberState.PRINTED, None, ref)}, last=n), n

    def allocate_block(self, terminal: str, size: int) -> tuple[NumberLedger, Block]:
        """The next ``size`` numbers go to ``terminal`` in advance."""
        if size < 1:
            raise RuleRefused(Rule.CASE_NUMBER, f"a block holds at least one number, not {size}")
        if self.last + size > MAX_NUMBER:
            raise RuleRefused(Rule.CASE_NUMBER, "the year's numbers do not suffice for that block")
        block = Block(terminal, self.last + 1, self.last + size)
        changes = {
            n: NumberRecord(NumberState.ALLOCATED, terminal)
            for n in range(block.first, block.last + 1)
        }
        return self._with(changes, last=block.last, blocks=(*self.blocks, block)), block

    def _held(self, n: int, terminal: str, act: str) -> NumberRecord:
        rec = self.records.get(n)
        if rec is None:
            raise RuleRefused(Rule.CASE_NUMBER, f"{self.format_safe(n)} was never allocated")
        if rec.terminal != terminal:
            raise RuleRefused(
                Rule.CASE_NUMBER,
                f"{self.format_safe(n)} is not held by terminal {terminal}: it cannot be {act}",
            )
        if rec.state != NumberState.ALLOCATED:
            raise RuleRefused(
                Rule.CASE_NUMBER,
                f"{self.format_safe(n)} is already {rec.state.value}: it cannot be {act} "
                "(a number is used once)",
            )
        return rec

    def format_safe(self, n: int) -> str:
        return self.format(n) if 1 <= n <= MAX_NUMBER else f"number {n}"

    def mark_printed(self, n: int, terminal: str, case_ref: str) -> NumberLedger:
        """The terminal reports a decision printed on ``n``."""
        rec = self._held(n, terminal, "printed")
        if not case_ref:
            raise RuleRefused(Rule.CASE_NUMBER, "a printed number names its case")
        return self._with({n: NumberRecord(NumberState.PRINTED, rec.terminal, case_ref)})

    def void(self, n: int, terminal: str, reason_sha256: str) -> NumberLedger:
        """A spoiled form (misprint, paper jam): voided with its reason, never reused."""
        rec = self._held(n, terminal, "voided")
        if not reason_sha256:
            raise RuleRefused(Rule.REASON_REQUIRED, "voiding a number needs a reason")
        return self._with({n: NumberRecord(NumberState.VOIDED, rec.terminal, reason_sha256)})

    def return_numbers(self, numbers: list[int], terminal: str) -> NumberLedger:
        """Unused numbers handed back (a terminal retired, a block closed at year end)."""
        for n in numbers:
            self._held(n, terminal, "returned")
        if len(set(numbers)) != len(numbers):
            raise RuleRefused(Rule.CASE_NUMBER, "a number is returned once")
        return self._with({n: NumberRecord(NumberState.RETURNED, terminal) for n in numbers})

    def open_numbers(self) -> dict[str, list[int]]:
        """What each terminal still holds unused (the report a supervisor reconciles)."""
        held: dict[str, list[int]] = {}
        for n in sorted(self.records):
            rec = self.records[n]
            if rec.state == NumberState.ALLOCATED and rec.terminal is not None:
                held.setdefault(rec.terminal, []).append(n)
        return held

    def check(self) -> list[str]:
        """Every way the ledger could be wrong, in words (empty when it holds)."""
        problems: list[str] = []
        missing = [n for n in range(1, self.last + 1) if n not in self.records]
        if missing:
            problems.append(f"numbers without a record: {missing[:10]}")
        beyond = [n for n in self.records if not 1 <= n <= self.last]
        if beyond:
            problems.append(f"records beyond the last number taken: {beyond[:10]}")
        covered: dict[int, str] = {}
        for b in self.blocks:
            for n in range(b.first, b.last + 1):
                if n in covered:
                    problems.append(f"{n} allocated in two blocks")
                covered[n] = b.terminal
        for n, rec in self.records.items():
            if n in covered and rec.terminal != covered[n]:
                problems.append(f"{n} is recorded for {rec.terminal}, its block is {covered[n]}")
            if n not in covered and rec.terminal is not None:
                problems.append(f"{n} names terminal {rec.terminal} but no block holds it")
            if rec.state == NumberState.PRINTED and not rec.ref:
                problems.append(f"{n} printed without its case")
        return problems
