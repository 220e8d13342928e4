"""On-the-spot decisions (简易程序, 行政处罚法 Art. 51-52) on the terminal: the number blocks it
holds, and the 当场行政处罚决定书 filled in from the officer's choices. Pure.

The hub allocates a block of pre-printed numbers to the terminal in advance (``number_block``
command), so a decision can be made offline. Each number the terminal holds is::

    free ──on_spot (filled, checked, sent to the printer)──> printing ──printed──> used (reported)
      │                                                          └──print failed──> printing
      │                                                               (reprint, or void it)
      ├──void (a reason)──> voided (reported)
      └──return──> returned (reported)

The wallet is plain data with a JSON form (``to_json`` / ``from_json``): the terminal keeps it
on disk (``save`` / ``load``) beside its outbox, so a restart loses no number and no decision
waiting to be reported.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from schemas.documents import OnSpotDecision
from schemas.documents.common import LegalRef, Officer, Party, PenaltyTerms, Receipt
from schemas.messages import NumberBlockArgs


class OnSpotRefused(ValueError):
    """The terminal will not print this decision; ``problems`` says why (each with its rule)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class NumberState(StrEnum):
    FREE = "free"
    PRINTING = "printing"  # filled in and sent to the printer, not yet reported
    USED = "used"
    VOIDED = "voided"
    RETURNED = "returned"


@dataclass(frozen=True)
class OnSpotMatter:
    """The matter the officer picks (from the catalog the terminal carries)."""

    code: str
    violated: list[LegalRef]
    basis: list[LegalRef]


@dataclass(frozen=True)
class OnSpotFacts:
    """What happened: the act, when and where, and the party's statements (Art. 44-45)."""

    act: str
    act_at: datetime
    place: str
    statements: str | None = None


@dataclass
class Pending:
    """A decision sent to the printer, reported once it has printed."""

    number: str
    job_id: str
    matter_code: str
    document: dict[str, Any]  # the document as filed (receipt settled), its JSON
    attempts: int = 1
    failed: str | None = None  # the last print failure


@dataclass
class NumberWallet:
    blocks: dict[str, dict[str, Any]] = field(default_factory=dict)  # block_id -> its args (JSON)
    numbers: dict[str, str] = field(default_factory=dict)  # number -> NumberState, in block order
    block_of: dict[str, str] = field(default_factory=dict)  # number -> block_id
    pending: dict[str, Pending] = field(default_factory=dict)  # number -> decision printing
    path: Path | None = None

    def add(self, args: NumberBlockArgs) -> int:
        """Keep a block (a redelivered block changes nothing); returns its free numbers."""
        if args.block_id not in self.blocks:
            self.blocks[args.block_id] = args.model_dump(mode="json")
            for number in args.numbers():
                self.numbers.setdefault(number, NumberState.FREE.value)
                self.block_of.setdefault(number, args.block_id)
            self.save()
        return sum(1 for n in args.numbers() if self.numbers[n] == NumberState.FREE.value)

    def block(self, number: str) -> NumberBlockArgs:
        return NumberBlockArgs.model_validate_json(json.dumps(self.blocks[self.block_of[number]]))

    def free(self) -> list[str]:
        return [n for n, s in self.numbers.items() if s == NumberState.FREE.value]

    def next_free(self) -> str | None:
        return next(iter(self.free()), None)

    def state(self, number: str) -> NumberState | None:
        s = self.numbers.get(number)
        return NumberState(s) if s is not None else None

    def set(self, number: str, state: NumberState) -> None:
        self.numbers[number] = state.value
        if state is not NumberState.PRINTING:
            self.pending.pop(number, None)
        self.save()

    # ------------------------------------------------------------------ persistence ------
    def to_json(self) -> str:
        return json.dumps(
            {
                "blocks": self.blocks,
                "numbers": self.numbers,
                "block_of": self.block_of,
                "pending": {k: p.__dict__ for k, p in self.pending.items()},
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str, path: Path | None = None) -> NumberWallet:
        d = json.loads(text)
        return cls(
            blocks=d["blocks"],
            numbers=d["numbers"],
            block_of=d["block_of"],
            pending={k: Pending(**p) for k, p in d["pending"].items()},
            path=path,
        )

    @classmethod
    def load(cls, path: Path) -> NumberWallet:
        """The wallet kept at ``path`` (empty when there is none yet)."""
        if not path.exists():
            return cls(path=path)
        return cls.from_json(path.read_text("utf-8"), path)

    def save(self) -> None:
        """Write the wallet atomically (a crash mid-write keeps the previous one)."""
        if self.path is None:
            return
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(self.to_json(), "utf-8")
        os.replace(tmp, self.path)


def fill_decision(
    wallet: NumberWallet,
    number: str,
    *,
    matter: OnSpotMatter,
    party: Party,
    facts: OnSpotFacts,
    penalty: PenaltyTerms,
    officers: list[Officer],
    receipt: Receipt,
    now: datetime,
) -> tuple[OnSpotDecision, OnSpotDecision]:
    """The decision on ``number`` as printed (receipt pending: the party signs the paper, or
    the officers note the refusal on it) and as filed (the receipt settled). ``OnSpotRefused``
    with every missing content (Art. 51-52) when the filed one is incomplete."""
    form = wallet.block(number)
    printed = OnSpotDecision(
        number=number,
        subject=form.subject,
        issued_at=now,
        party=party,
        act=facts.act,
        act_at=facts.act_at,
        place=facts.place,
        violated=matter.violated,
        basis=matter.basis,
        penalty=penalty,
        statements=facts.statements,
        payment=form.payment if penalty.fine else None,
        remedies=form.remedies,
        officers=officers,
    )
    filed = printed.model_copy(update={"receipt": receipt})
    problems = filed.missing()
    if problems:
        raise OnSpotRefused(problems)
    return printed, filed
