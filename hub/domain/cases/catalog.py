"""The matter catalog (权责清单, CASES.md §5): categories, legal subjects and matters, validated
from plain data (a parsed YAML or CSV file). Pure.

"一套清单管权责": one code <-> one violation <-> one provision, so an officer picks a matter and the
law follows. Nobody adds or drops a matter outside the procedure: the catalog changes only as a
whole new version through an approved revision (``hub.services.cases.catalog``); this module
says whether a proposed catalog is well formed and what it changes.

Every problem is reported against the line it came from, as ``ehub admin import-devices``
does: ``line 7 (SZ-SR-001): fine_max: must be >= fine_min``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from hub.domain.cases.law import LegalSubject, MatterKind, PenaltyType, StatutoryRange

FORMAT = "ehub-catalog/1"
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
MAX_TEXT = 2000


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, where it was."""

    line: int
    code: str  # the matter (or category, subject) it concerns; "" for the document
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line} ({self.code or '-'}): {self.field}: {self.message}"


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    name_en: str = ""


@dataclass(frozen=True)
class Matter:
    code: str
    name: str
    category: str
    kind: MatterKind
    violated_provision: str
    penalty_provision: str
    range: StatutoryRange
    legal_subject: str
    evidence: tuple[str, ...]
    correction_first: bool  # a 责令改正 must come first (and a penalty only on refusal)
    verified: bool = True  # the provision's text and number were checked against the statute
    note: str = ""


@dataclass(frozen=True)
class Catalog:
    categories: dict[str, Category] = field(default_factory=dict)
    legal_subjects: dict[str, LegalSubject] = field(default_factory=dict)
    matters: dict[str, Matter] = field(default_factory=dict)


@dataclass(frozen=True)
class Diff:
    added: tuple[str, ...]  # matter codes
    removed: tuple[str, ...]
    changed: tuple[str, ...]
    other: tuple[str, ...] = ()  # categories and legal subjects added, dropped or changed

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.other)

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": list(self.changed),
            "other": list(self.other),
        }


class _Reader:
    """Reads typed fields of one mapping, collecting problems instead of stopping at the first."""

    def __init__(self, raw: Mapping[str, Any], line: int, code: str, problems: list[Problem]):
        self.raw, self.line, self.code, self.problems = raw, line, code, problems

    def bad(self, name: str, message: str) -> None:
        self.problems.append(Problem(self.line, self.code, name, message))

    def text(self, name: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
        value = self.raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.bad(name, "is required")
            return ""
        if not isinstance(value, str | int):
            self.bad(name, "must be text")
            return ""
        text = str(value).strip()
        if len(text) > limit:
            self.bad(name, f"must be at most {limit} characters")
        return text

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in (
            "true",
            "yes",
            "1",
            "false",
            "no",
            "0",
        ):
            return value.strip().lower() in ("true", "yes", "1")
        self.bad(name, "must be true or false")
        return default

    def amount(self, name: str) -> Decimal | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            self.bad(name, "must be an amount")
            return None
        try:
            amount = Decimal(str(value).replace(",", "").strip())
        except InvalidOperation:
            self.bad(name, f"must be an amount, not {value!r}")
            return None
        if not amount.is_finite() or amount < 0:
            self.bad(name, "must be an amount >= 0")
            return None
        return amount

    def strings(self, name: str) -> tuple[str, ...]:
        value = self.raw.get(name)
        if value is None or value == "":
            return ()
        if isinstance(value, str):  # CSV: "a|b|c"
            return tuple(s.strip() for s in value.split("|") if s.strip())
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(v.strip() for v in value if v.strip())
        self.bad(name, "must be a list of texts")
        return ()


def _code(r: _Reader, name: str = "code") -> str:
    code = r.text(name, limit=40)
    if code and not CODE_PATTERN.match(code):
        r.bad(name, "letters, digits, '.', '_' and '-' only (at most 40)")
    return code


def read_range(r: _Reader) -> StatutoryRange | None:
    """The statutory range of a matter (fields directly on ``r``'s mapping)."""
    before = len(r.problems)
    types: set[PenaltyType] = set()
    for t in r.strings("penalty_types"):
        try:
            types.add(PenaltyType(t))
        except ValueError:
            r.bad("penalty_types", f"unknown penalty type {t!r} (one of {', '.join(PenaltyType)})")
    if PenaltyType.DETENTION in types:
        r.bad("penalty_types", "detention is the police's, never a street team's")
    fine_min, fine_max = r.amount("fine_min"), r.amount("fine_max")
    rate, unit = r.amount("per_unit_rate"), r.text("unit", required=False, limit=20)
    mult_min, mult_max = r.amount("multiple_min"), r.amount("multiple_max")
    if fine_min is not None and fine_max is not None and fine_max < fine_min:
        r.bad("fine_max", "must be >= fine_min")
    if mult_min is not None and mult_max is not None and mult_max < mult_min:
        r.bad("multiple_max", "must be >= multiple_min")
    if rate is not None and not unit:
        r.bad("unit", "a per-unit rate needs its unit (m2, item, vehicle, ...)")
    has_fine = any(v is not None for v in (fine_min, fine_max, rate, mult_min, mult_max))
    if has_fine and PenaltyType.FINE not in types:
        r.bad("penalty_types", "fine amounts are given, so the types must include 'fine'")
    if PenaltyType.FINE in types and not has_fine:
        r.bad(
            "fine_max", "a fine needs its amounts (fine_min/fine_max, per_unit_rate or multiples)"
        )
    if len(r.problems) > before:
        return None
    return StatutoryRange(
        penalty_types=frozenset(types),
        fine_min=fine_min,
        fine_max=fine_max,
        per_unit_rate=rate,
        unit=unit,
        multiple_min=mult_min,
        multiple_max=mult_max,
        notes=r.text("range_notes", required=False),
    )


def read_matter(
    raw: Mapping[str, Any],
    line: int,
    problems: list[Problem],
    categories: Mapping[str, Category],
    subjects: Mapping[str, LegalSubject],
) -> Matter | None:
    code = str(raw.get("code") or "").strip()
    r = _Reader(raw, line, code, problems)
    before = len(problems)
    code = _code(r)
    name = r.text("name", limit=200)
    category = r.text("category", limit=40)
    if category and category not in categories:
        r.bad("category", f"no category {category!r} in the catalog")
    kind_text = r.text("kind", limit=20)
    kind = MatterKind.PENALTY
    if kind_text:
        try:
            kind = MatterKind(kind_text)
        except ValueError:
            r.bad("kind", f"must be one of {', '.join(MatterKind)}")
    violated = r.text("violated_provision")
    penalty_provision = r.text("penalty_provision", required=kind is MatterKind.PENALTY)
    subject = r.text("legal_subject", limit=40)
    if subject and subject not in subjects:
        r.bad("legal_subject", f"no legal subject {subject!r} in the catalog")
    rng = read_range(r)
    if rng is not None and kind is MatterKind.PENALTY and not rng.penalty_types:
        r.bad("penalty_types", "a penalty matter needs at least one penalty type")
    evidence = r.strings("evidence")
    if kind is MatterKind.PENALTY and not evidence:
        r.bad("evidence", "list what a file for this matter must hold")
    correction_first = r.flag("correction_first", False)
    verified = r.flag("verified", True)
    note = r.text("note", required=False)
    if not verified and not note:
        r.bad("note", "an unverified entry must say what is unverified")
    if len(problems) > before or rng is None:
        return None
    return Matter(
        code=code,
        name=name,
        category=category,
        kind=kind,
        violated_provision=violated,
        penalty_provision=penalty_provision,
        range=rng,
        legal_subject=subject,
        evidence=evidence,
        correction_first=correction_first,
        verified=verified,
        note=note,
    )


def _line(raw: Mapping[str, Any], default: int) -> int:
    value = raw.get("__line__", default)
    return value if isinstance(value, int) else default


def _entries(doc: Mapping[str, Any], key: str, problems: list[Problem]) -> list[Mapping[str, Any]]:
    value = doc.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        problems.append(Problem(_line(doc, 1), "", key, "must be a list of entries"))
        return []
    return value


def read_document(
    doc: Mapping[str, Any], base: Catalog | None = None
) -> tuple[Catalog | None, list[Problem]]:
    """A whole catalog from a parsed document (``format``, ``categories``, ``legal_subjects``,
    ``matters``); categories and subjects it omits are taken from ``base`` (a CSV of matters
    only, on top of the current catalog). None with the problems when any remain."""
    problems: list[Problem] = []
    fmt = doc.get("format", FORMAT)
    if fmt != FORMAT:
        problems.append(Problem(_line(doc, 1), "", "format", f"must be {FORMAT!r}, not {fmt!r}"))
    categories: dict[str, Category] = {}
    subjects: dict[str, LegalSubject] = {}
    raw_categories = _entries(doc, "categories", problems)
    raw_subjects = _entries(doc, "legal_subjects", problems)
    if not raw_categories and base is not None:
        categories = dict(base.categories)
    if not raw_subjects and base is not None:
        subjects = dict(base.legal_subjects)
    for i, raw in enumerate(raw_categories, 1):
        r = _Reader(raw, _line(raw, i), str(raw.get("code") or ""), problems)
        code, name = _code(r), r.text("name", limit=100)
        if code in categories:
            r.bad("code", "category listed twice")
        elif code and name:
            categories[code] = Category(code, name, r.text("name_en", required=False, limit=100))
    for i, raw in enumerate(raw_subjects, 1):
        r = _Reader(raw, _line(raw, i), str(raw.get("code") or ""), problems)
        code = _code(r)
        fields = [r.text(n, limit=100) for n in ("name", "seal_name", "number_prefix")]
        if code in subjects:
            r.bad("code", "legal subject listed twice")
        elif code and all(fields):
            subjects[code] = LegalSubject(code, *fields)
    matters: dict[str, Matter] = {}
    raw_matters = _entries(doc, "matters", problems)
    if not raw_matters:
        problems.append(
            Problem(_line(doc, 1), "", "matters", "a catalog needs at least one matter")
        )
    for i, raw in enumerate(raw_matters, 1):
        line = _line(raw, i)
        m = read_matter(raw, line, problems, categories, subjects)
        if m is None:
            continue
        if m.code in matters:
            problems.append(Problem(line, m.code, "code", "matter listed twice"))
            continue
        matters[m.code] = m
    if problems:
        return None, problems
    return Catalog(categories, subjects, matters), []


def with_matter(base: Catalog, matter: Matter) -> Catalog:
    """``base`` with one matter added or replaced (an edit revision)."""
    return Catalog(base.categories, base.legal_subjects, {**base.matters, matter.code: matter})


def diff(old: Catalog, new: Catalog) -> Diff:
    added = sorted(new.matters.keys() - old.matters.keys())
    removed = sorted(old.matters.keys() - new.matters.keys())
    changed = sorted(
        c for c in new.matters.keys() & old.matters.keys() if new.matters[c] != old.matters[c]
    )
    other = sorted(
        f"category:{c}"
        for c in new.categories.keys() | old.categories.keys()
        if new.categories.get(c) != old.categories.get(c)
    )
    other += sorted(
        f"legal_subject:{c}"
        for c in new.legal_subjects.keys() | old.legal_subjects.keys()
        if new.legal_subjects.get(c) != old.legal_subjects.get(c)
    )
    return Diff(tuple(added), tuple(removed), tuple(changed), tuple(other))


# ------------------------------------------------------------------ as plain data again ----
def _amount(v: Decimal | None) -> str | None:
    return None if v is None else str(v)


def range_dict(r: StatutoryRange) -> dict[str, Any]:
    return {
        "penalty_types": sorted(t.value for t in r.penalty_types),
        "fine_min": _amount(r.fine_min),
        "fine_max": _amount(r.fine_max),
        "per_unit_rate": _amount(r.per_unit_rate),
        "unit": r.unit,
        "multiple_min": _amount(r.multiple_min),
        "multiple_max": _amount(r.multiple_max),
        "range_notes": r.notes,
    }


def matter_dict(m: Matter) -> dict[str, Any]:
    """A matter as the flat mapping ``read_matter`` reads (and the API and exports show)."""
    return {
        "code": m.code,
        "name": m.name,
        "category": m.category,
        "kind": m.kind.value,
        "violated_provision": m.violated_provision,
        "penalty_provision": m.penalty_provision,
        "legal_subject": m.legal_subject,
        "correction_first": m.correction_first,
        **range_dict(m.range),
        "evidence": list(m.evidence),
        "verified": m.verified,
        "note": m.note,
    }


def document(c: Catalog) -> dict[str, Any]:
    """The catalog as a document ``read_document`` reads back to the same catalog."""
    return {
        "format": FORMAT,
        "categories": [
            {"code": k.code, "name": k.name, "name_en": k.name_en} for k in c.categories.values()
        ],
        "legal_subjects": [
            {
                "code": s.code,
                "name": s.name,
                "seal_name": s.seal_name,
                "number_prefix": s.number_prefix,
            }
            for s in c.legal_subjects.values()
        ],
        "matters": [matter_dict(m) for m in c.matters.values()],
    }


CSV_COLUMNS: Sequence[str] = (
    "code",
    "name",
    "category",
    "kind",
    "violated_provision",
    "penalty_provision",
    "legal_subject",
    "correction_first",
    "penalty_types",
    "fine_min",
    "fine_max",
    "per_unit_rate",
    "unit",
    "multiple_min",
    "multiple_max",
    "range_notes",
    "evidence",
    "verified",
    "note",
)


def csv_row(m: Matter) -> dict[str, str]:
    """A matter as one CSV row (lists joined with '|')."""
    d = matter_dict(m)
    out: dict[str, str] = {}
    for col in CSV_COLUMNS:
        v = d[col]
        if isinstance(v, list):
            out[col] = "|".join(v)
        elif isinstance(v, bool):
            out[col] = "true" if v else "false"
        else:
            out[col] = "" if v is None else str(v)
    return out
