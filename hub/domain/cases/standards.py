"""Reading a discretion standard (裁量基准) from plain data (a parsed YAML file or the API's
JSON), with every problem found, before anything is stored. Pure.

A condition names a countable fact of ``hub.domain.cases.discretion.Facts`` and is
type-checked here, so a standard that was accepted never fails when a case is computed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from hub.domain.cases.discretion import (
    BOOLEAN_FACTS,
    ENUM_FACTS,
    FACT_NAMES,
    FORMAT,
    NUMERIC_FACTS,
    OPS,
    Clause,
    Item,
    Outcome,
    OutcomeType,
    Standard,
    Tier,
)
from hub.domain.cases.law import PenaltyType


@dataclass
class _Problems:
    items: list[str] = field(default_factory=list)

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}")


def _dec(v: Any, where: str, p: _Problems) -> Decimal | None:
    if v is None:
        return None
    try:
        d = Decimal(str(v))
    except InvalidOperation:
        p.add(where, f"must be an amount, not {v!r}")
        return None
    if not d.is_finite() or d < 0:
        p.add(where, "must be an amount >= 0")
        return None
    return d


def _day(v: Any, where: str, p: _Problems) -> date | None:
    if v is None or v == "":
        return None
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v))
    except ValueError:
        p.add(where, f"must be a date (YYYY-MM-DD), not {v!r}")
        return None


def _clause(raw: Any, where: str, p: _Problems) -> Clause | None:
    if not isinstance(raw, Mapping):
        p.add(where, "a condition is {fact, op, value}")
        return None
    fact, op, value = raw.get("fact"), raw.get("op", "=="), raw.get("value")
    if fact not in FACT_NAMES:
        p.add(where, f"unknown fact {fact!r} (one of {', '.join(sorted(FACT_NAMES))})")
        return None
    if op not in OPS:
        p.add(where, f"unknown op {op!r} (one of {' '.join(OPS)})")
        return None
    if value is None:
        p.add(where, "a condition needs its value")
        return None
    if fact in NUMERIC_FACTS:
        if isinstance(value, bool) or _dec(value, where, p) is None:
            p.add(where, f"{fact} compares with a number")
            return None
    elif fact in BOOLEAN_FACTS:
        if not isinstance(value, bool) or op not in ("==", "!="):
            p.add(where, f"{fact} is true or false, compared with == or !=")
            return None
    elif value not in ENUM_FACTS[str(fact)] or op not in ("==", "!="):
        p.add(where, f"{fact} is one of {', '.join(sorted(ENUM_FACTS[str(fact)]))} (== or !=)")
        return None
    return Clause(str(fact), str(op), value)


def _outcome(raw: Any, where: str, p: _Problems) -> Outcome | None:
    if not isinstance(raw, Mapping):
        p.add(where, "an outcome is a mapping with a type")
        return None
    try:
        kind = OutcomeType(str(raw.get("type")))
    except ValueError:
        p.add(where, f"type must be one of {', '.join(OutcomeType)}")
        return None
    extras: set[PenaltyType] = set()
    for e in raw.get("extras") or []:
        try:
            extras.add(PenaltyType(e))
        except ValueError:
            p.add(where, f"unknown extra penalty {e!r}")
    o = Outcome(
        type=kind,
        fine=_dec(raw.get("fine"), where + ".fine", p),
        fine_min=_dec(raw.get("fine_min"), where + ".fine_min", p),
        fine_max=_dec(raw.get("fine_max"), where + ".fine_max", p),
        rate=_dec(raw.get("rate"), where + ".rate", p),
        per=str(raw.get("per") or ""),
        warning=bool(raw.get("warning", False)),
        extras=frozenset(extras),
        confiscation=str(raw.get("confiscation") or ""),
    )
    if kind is OutcomeType.FIXED and o.fine is None:
        p.add(where, "a fixed outcome needs its fine")
    if kind is OutcomeType.RANGE and (o.fine_min is None or o.fine_max is None):
        p.add(where, "a range outcome needs fine_min and fine_max")
    if kind is OutcomeType.RANGE and o.fine_min and o.fine_max and o.fine_max < o.fine_min:
        p.add(where + ".fine_max", "must be >= fine_min")
    if kind is OutcomeType.RATE and (o.rate is None or o.per not in ("area_m2", "quantity")):
        p.add(where, "a rate outcome needs its rate and per: area_m2 or quantity")
    return o


def read_standard(doc: Mapping[str, Any]) -> tuple[Standard | None, list[str]]:
    """A standard from a parsed document; None with every problem found when any."""
    p = _Problems()
    if doc.get("format", FORMAT) != FORMAT:
        p.add("format", f"must be {FORMAT!r}")
    code, title = str(doc.get("code") or "").strip(), str(doc.get("title") or "").strip()
    if not code:
        p.add("code", "is required")
    if not title:
        p.add("title", "is required")
    start = _day(doc.get("in_force_from"), "in_force_from", p)
    end = _day(doc.get("in_force_to"), "in_force_to", p)
    if start is None:
        p.add("in_force_from", "is required")
    if start and end and end < start:
        p.add("in_force_to", "must be on or after in_force_from")
    items: dict[str, Item] = {}
    raw_items = doc.get("items") or []
    if not isinstance(raw_items, list) or not raw_items:
        p.add("items", "a standard needs items (one per matter code)")
        raw_items = []
    for i, raw in enumerate(raw_items, 1):
        where = f"items[{i}]"
        if not isinstance(raw, Mapping) or not raw.get("matter"):
            p.add(where, "an item needs its matter code")
            continue
        matter = str(raw["matter"])
        tiers: list[Tier] = []
        ids: set[str] = set()
        for j, t in enumerate(raw.get("tiers") or [], 1):
            tw = f"{where}({matter}).tiers[{j}]"
            if not isinstance(t, Mapping) or not t.get("id") or not t.get("label"):
                p.add(tw, "a tier needs an id and a label")
                continue
            if str(t["id"]) in ids:
                p.add(tw, f"tier id {t['id']!r} twice")
            ids.add(str(t["id"]))
            clauses = [_clause(c, f"{tw}.when", p) for c in t.get("when") or []]
            outcome = _outcome(t.get("outcome"), f"{tw}.outcome", p)
            if outcome is not None and all(c is not None for c in clauses):
                tiers.append(
                    Tier(str(t["id"]), str(t["label"]), tuple(c for c in clauses if c), outcome)
                )
        if not tiers:
            p.add(where, f"{matter}: at least one tier")
        if matter in items:
            p.add(where, f"{matter} listed twice")
        items[matter] = Item(matter, tuple(tiers))
    if p.items or start is None:
        return None, p.items
    verified = doc.get("verified", True)
    note = str(doc.get("note") or "")
    return (
        Standard(
            code, title, str(doc.get("issued_by") or ""), start, end, items, bool(verified), note
        ),
        [],
    )


def unknown_matters(standard: Standard, known: Sequence[str]) -> list[str]:
    """The matter codes a standard names that the catalog does not have."""
    return sorted(set(standard.items) - set(known))
