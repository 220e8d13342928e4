"""Case numbers without gaps and number blocks for offline terminals (pure ledger)."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from hub.domain.cases.numbering import (
    MAX_NUMBER,
    CaseNumber,
    NumberLedger,
    NumberState,
    format_number,
    next_number,
    parse_number,
)
from hub.domain.cases.refusals import Rule, RuleRefused


def test_format_and_parse() -> None:
    text = format_number("深福执罚", 2026, 123)
    assert text == "深福执罚〔2026〕第000123号"
    assert parse_number(text) == CaseNumber("深福执罚", 2026, 123)
    assert str(CaseNumber("深福执罚", 2026, 123)) == text
    for bad in (
        "深福执罚〔2026〕第123号",
        "深福执罚[2026]第000123号",
        "深福执罚〔2026〕第000000号",
        "",
    ):
        assert parse_number(bad) is None
    with pytest.raises(ValueError, match="from 1 to 999999"):
        format_number("深福执罚", 2026, 0)


def test_next_number_has_no_gaps_and_an_end() -> None:
    assert next_number(0) == 1 and next_number(41) == 42
    with pytest.raises(RuleRefused, match="used up"):
        next_number(MAX_NUMBER)


def test_blocks_and_the_hub_share_one_series_without_gaps() -> None:
    ledger = NumberLedger("深福执罚", 2026)
    ledger, n1 = ledger.take("case-1")
    ledger, block = ledger.allocate_block("term-1", 5)
    ledger, n7 = ledger.take("case-2")
    assert (n1, block.first, block.last, n7) == (1, 2, 6, 7)
    ledger = ledger.mark_printed(2, "term-1", "spot-1")
    ledger = ledger.void(3, "term-1", "aa" * 32)
    ledger = ledger.return_numbers([5, 6], "term-1")
    assert ledger.open_numbers() == {"term-1": [4]}
    assert ledger.check() == []
    assert ledger.records[3].state == NumberState.VOIDED


def test_a_number_is_used_once_and_only_by_its_terminal() -> None:
    ledger, _ = NumberLedger("深福执罚", 2026).allocate_block("term-1", 3)
    ledger = ledger.mark_printed(1, "term-1", "spot-1")
    with pytest.raises(RuleRefused, match="is already printed: it cannot be printed"):
        ledger.mark_printed(1, "term-1", "spot-2")
    with pytest.raises(RuleRefused, match="already printed: it cannot be voided"):
        ledger.void(1, "term-1", "aa" * 32)
    with pytest.raises(RuleRefused, match="not held by terminal term-2"):
        ledger.mark_printed(2, "term-2", "spot-3")
    with pytest.raises(RuleRefused, match="was never allocated"):
        ledger.mark_printed(9, "term-1", "spot-4")
    with pytest.raises(RuleRefused, match="needs a reason") as e:
        ledger.void(2, "term-1", "")
    assert e.value.rule == Rule.REASON_REQUIRED
    with pytest.raises(RuleRefused, match="returned once"):
        ledger.return_numbers([2, 2], "term-1")


class LedgerMachine(RuleBasedStateMachine):
    """Random allocations, prints, voids and returns — valid or not — never lose a number,
    never put one in two states and never use one twice."""

    terminals = st.sampled_from(["t1", "t2", "t3"])

    def __init__(self) -> None:
        super().__init__()
        self.ledger = NumberLedger("深福执罚", 2026)
        self.printed: dict[int, str] = {}  # what the model expects
        self.finished: set[int] = set()

    def _try(self, op: object, *args: object) -> bool:
        before = self.ledger
        try:
            self.ledger = op(*args)  # type: ignore[operator]
        except RuleRefused:
            assert self.ledger is before  # a refusal changes nothing
            return False
        return True

    @rule(terminal=terminals, size=st.integers(1, 6))
    def allocate(self, terminal: str, size: int) -> None:
        last = self.ledger.last
        self.ledger, block = self.ledger.allocate_block(terminal, size)
        assert (block.first, block.last) == (last + 1, last + size)

    @rule()
    def take(self) -> None:
        self.ledger, n = self.ledger.take(f"case-{self.ledger.last + 1}")
        self.printed[n] = "hub"
        self.finished.add(n)

    @precondition(lambda self: self.ledger.last > 0)
    @rule(data=st.data(), terminal=terminals, op=st.sampled_from(["print", "void", "return"]))
    def use(self, data: st.DataObject, terminal: str, op: str) -> None:
        n = data.draw(st.integers(1, self.ledger.last + 2))
        held = self.ledger.records.get(n)
        ok_before = (
            held is not None and held.terminal == terminal and held.state == NumberState.ALLOCATED
        )
        if op == "print":
            ok = self._try(self.ledger.mark_printed, n, terminal, f"spot-{n}")
        elif op == "void":
            ok = self._try(self.ledger.void, n, terminal, "ab" * 32)
        else:
            ok = self._try(self.ledger.return_numbers, [n], terminal)
        assert ok == ok_before  # accepted exactly when the terminal held it unused
        if ok:
            assert n not in self.finished  # never used twice
            self.finished.add(n)

    @invariant()
    def holds(self) -> None:
        ledger = self.ledger
        assert ledger.check() == []
        # none lost: every number taken is open at one terminal or finished, exactly once
        open_numbers = [n for ns in ledger.open_numbers().values() for n in ns]
        assert len(open_numbers) == len(set(open_numbers))
        assert sorted(open_numbers + sorted(self.finished)) == list(range(1, ledger.last + 1))
        assert {n for n, r in ledger.records.items() if r.state != NumberState.ALLOCATED} == (
            self.finished
        )


LedgerMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40)
test_ledger_invariants = LedgerMachine.TestCase
