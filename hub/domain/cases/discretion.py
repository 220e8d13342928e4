"""Discretion standards (裁量基准, CASES.md §6) and the recommended penalty. Pure.

A standard (e.g. 深城管规〔2023〕2号) is in force between two dates and has items per matter code;
an item's tiers are tried in order and the first whose condition holds over the case's facts
gives the outcome: a fixed fine, a range, or a rate x quantity (1,000 yuan per m²), plus extras
(confiscation, a warning). Before any tier, the statute's own rules apply to every matter:

- no penalty: under 14 (行政处罚法 Art. 30), unable to recognise or control the act (Art. 31),
  minor, corrected in time and no harm (Art. 33 ¶1), time-barred (Art. 36: not discovered within
  2 years, 5 where life, health or finance was harmed); a first minor offence corrected in time
  *may* go unpunished (Art. 33 ¶1, second sentence: recommended, flagged as discretionary);
- a lighter penalty is mandatory (Art. 32, and Art. 30 for 14-17): the statutory minimum.

Which version applies: the one in force on the date of the act, unless the one in force when
deciding is lighter (Art. 37). The recommendation is clamped to the matter's statutory range
(the statute outranks a standard), and says why in Chinese and English. An officer who decides
otherwise must give a written reason; the ``Departure`` is flagged for 法制审核 (Art. 58; local
lists add any departure from the standard). Reading a standard from a file is ``standards.py``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from hub.domain.cases.catalog import Matter
from hub.domain.cases.law import PartyType, Penalty, PenaltyType, simple_procedure_refusal

FORMAT = "ehub-discretion/1"


class Harm(StrEnum):
    NONE = "none"
    MINOR = "minor"
    SERIOUS = "serious"


class Mitigation(StrEnum):
    """The grounds of 行政处罚法 Art. 32 (应当从轻或者减轻)."""

    ELIMINATED_HARM = "eliminated_harm"  # 主动消除或者减轻违法行为危害后果
    COERCED = "coerced"  # 受他人胁迫或者诱骗
    CONFESSED = "confessed"  # 主动供述行政机关尚未掌握的违法行为
    MERITORIOUS = "meritorious"  # 配合查处违法行为有立功表现


@dataclass(frozen=True)
class Facts:
    """What the case establishes, as the tiers' conditions read it."""

    party_type: PartyType = PartyType.CITIZEN
    prior_offences_12m: int = 0  # the same party, the same matter, within 12 months
    area_m2: Decimal | None = None
    quantity: Decimal | None = None
    refused_to_correct: bool = False
    corrected: bool = False  # corrected in time (及时改正)
    harm: Harm = Harm.NONE
    minor: bool = False  # 情节轻微
    serious: bool = False  # 情节严重
    party_age: int | None = None  # a citizen's age at the act
    incapacity: bool = False  # Art. 31
    mitigation: frozenset[Mitigation] = frozenset()
    discovered_on: date | None = None  # for Art. 36 (the act's date is given apart)
    life_health_finance: bool = False  # Art. 36: 5 years where such harm occurred
    illegal_gains: Decimal | None = None

    @property
    def first_offence(self) -> bool:
        return self.prior_offences_12m == 0


# What a condition may name, by the kind of value it compares with (the pre-tiers alone read
# the dates, mitigating grounds and capacity: the statute's rules, not a standard's).
NUMERIC_FACTS = frozenset(
    {"prior_offences_12m", "area_m2", "quantity", "party_age", "illegal_gains"}
)
BOOLEAN_FACTS = frozenset(
    {"refused_to_correct", "corrected", "minor", "serious", "life_health_finance", "first_offence"}
)
ENUM_FACTS: dict[str, frozenset[str]] = {
    "party_type": frozenset(PartyType),
    "harm": frozenset(Harm),
}
FACT_NAMES = NUMERIC_FACTS | BOOLEAN_FACTS | frozenset(ENUM_FACTS)
FACT_LABELS: dict[str, tuple[str, str]] = {
    "party_type": ("当事人类型", "party type"),
    "prior_offences_12m": ("12个月内同类违法次数", "prior offences in 12 months"),
    "area_m2": ("占地面积（平方米）", "area (m²)"),
    "quantity": ("数量", "quantity"),
    "refused_to_correct": ("拒不改正", "refused to correct"),
    "corrected": ("及时改正", "corrected in time"),
    "harm": ("危害后果", "harm"),
    "minor": ("情节轻微", "minor"),
    "serious": ("情节严重", "serious"),
    "party_age": ("当事人年龄", "party's age"),
    "incapacity": ("不能辨认或控制自己行为", "unable to recognise or control the act"),
    "mitigation": ("从轻情节", "mitigating grounds"),
    "discovered_on": ("发现日期", "discovered on"),
    "life_health_finance": ("涉及生命健康或金融安全", "life, health or finance involved"),
    "illegal_gains": ("违法所得", "illegal gains"),
    "first_offence": ("初次违法", "first offence"),
}
PENALTY_LABELS: dict[PenaltyType, tuple[str, str]] = {
    PenaltyType.WARNING: ("警告", "warning"),
    PenaltyType.CRITICISM: ("通报批评", "public criticism"),
    PenaltyType.FINE: ("罚款", "fine"),
    PenaltyType.CONFISCATE_GAINS: ("没收违法所得", "confiscation of illegal gains"),
    PenaltyType.CONFISCATE_PROPERTY: ("没收非法财物", "confiscation of illegal property"),
    PenaltyType.SUSPEND_LICENCE: ("暂扣许可证件", "licence suspended"),
    PenaltyType.LOWER_QUALIFICATION: ("降低资质等级", "qualification lowered"),
    PenaltyType.REVOKE_LICENCE: ("吊销许可证件", "licence revoked"),
    PenaltyType.RESTRICT_BUSINESS: ("限制开展生产经营活动", "business restricted"),
    PenaltyType.SUSPEND_BUSINESS: ("责令停产停业", "business suspended"),
    PenaltyType.CLOSE: ("责令关闭", "closure"),
    PenaltyType.RESTRICT_EMPLOYMENT: ("限制从业", "employment restricted"),
    PenaltyType.DETENTION: ("行政拘留", "detention"),
    PenaltyType.OTHER: ("其他行政处罚", "other penalty"),
}


def penalty_text(types: frozenset[PenaltyType] | set[PenaltyType], lang: str) -> str:
    i = 0 if lang == "zh" else 1
    return ("、" if lang == "zh" else ", ").join(PENALTY_LABELS[t][i] for t in sorted(types))


OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Clause:
    fact: str
    op: str
    value: Any

    def holds(self, facts: Facts) -> bool:
        actual = getattr(facts, self.fact)
        if actual is None:
            return False  # a fact not established satisfies no clause
        if isinstance(actual, Decimal | int) and not isinstance(actual, bool):
            return OPS[self.op](Decimal(actual), Decimal(str(self.value)))
        if isinstance(actual, StrEnum):
            return OPS[self.op](actual.value, self.value)
        return OPS[self.op](actual, self.value)

    def text(self, lang: str = "en") -> str:
        """The clause as an officer reads it: 拒不改正：是 / refused to correct: yes."""
        zh, en = FACT_LABELS.get(self.fact, (self.fact, self.fact))
        name = zh if lang == "zh" else en
        if isinstance(self.value, bool) and self.op in ("==", "!="):
            yes = self.value if self.op == "==" else not self.value
            return (
                f"{name}：{'是' if yes else '否'}"
                if lang == "zh"
                else f"{name}: {'yes' if yes else 'no'}"
            )
        op = {"==": "=", "!=": "≠", "<=": "≤", ">=": "≥"}.get(self.op, self.op)
        return f"{name} {op} {self.value}"


class OutcomeType(StrEnum):
    NONE = "none"  # no penalty at this tier (e.g. 责令改正 only)
    FIXED = "fixed"
    RANGE = "range"
    RATE = "rate"  # rate x a quantity fact


@dataclass(frozen=True)
class Outcome:
    type: OutcomeType
    fine: Decimal | None = None  # fixed
    fine_min: Decimal | None = None  # range
    fine_max: Decimal | None = None
    rate: Decimal | None = None  # rate
    per: str = ""  # the fact the rate multiplies: area_m2 or quantity
    warning: bool = False
    extras: frozenset[PenaltyType] = frozenset()  # e.g. confiscate_property
    confiscation: str = ""  # what, in words


@dataclass(frozen=True)
class Tier:
    id: str
    label: str
    when: tuple[Clause, ...]
    outcome: Outcome

    def matches(self, facts: Facts) -> bool:
        return all(c.holds(facts) for c in self.when)


@dataclass(frozen=True)
class Item:
    matter: str
    tiers: tuple[Tier, ...]


@dataclass(frozen=True)
class Standard:
    code: str
    title: str  # 深城管规〔2023〕2号 ...
    issued_by: str
    in_force_from: date
    in_force_to: date | None
    items: dict[str, Item]
    verified: bool = True
    note: str = ""

    def in_force(self, day: date) -> bool:
        return self.in_force_from <= day and (self.in_force_to is None or day <= self.in_force_to)


@dataclass(frozen=True)
class Recommendation:
    matter: str
    standard: str | None
    standard_title: str | None
    tier: str | None
    tier_label: str | None
    pre_tier: str | None  # the statutory rule that decided it (art30_under_14, ...)
    penalty: Penalty | None  # None: no tier covers the facts; the officer decides in range
    fine_band: tuple[Decimal, Decimal] | None  # a range tier's band (the point is its floor)
    statutory_bounds: tuple[Decimal, Decimal] | None
    clamped: bool
    discretionary: bool  # "may" (Art. 33 first offence): the officer may still punish
    lighter: bool  # Art. 32 applied
    correction_first: bool
    simple_procedure: bool  # may be decided on the spot (Art. 51)
    explanation_zh: tuple[str, ...]
    explanation_en: tuple[str, ...]
    # What the matter's provision allows, so a departure is checked against the statute too.
    allowed_types: frozenset[PenaltyType] = frozenset()


@dataclass(frozen=True)
class Departure:
    matter: str
    standard: str | None
    tier: str | None
    recommended: Penalty | None
    decided: Penalty
    reason: str
    heavier: bool
    legal_review: bool = True  # always: CASES.md §3 step 4, local lists


class DepartureRefused(ValueError):
    """A departure the law does not allow (no reason, outside the statutory range, none)."""


# ------------------------------------------------------------------------ computing -------
def _yuan(d: Decimal) -> str:
    return f"{d.quantize(Decimal('0.01')).normalize():f}"


def _pre_tier(facts: Facts, act_date: date) -> tuple[str, str, str, bool] | None:
    """(rule, zh, en, discretionary) of a statutory no-penalty rule that applies, else None."""
    discovered = facts.discovered_on
    if discovered is not None:
        years = 5 if facts.life_health_finance and facts.harm is not Harm.NONE else 2
        try:
            barred_after = act_date.replace(year=act_date.year + years)
        except ValueError:  # 29 February
            barred_after = act_date.replace(year=act_date.year + years, day=28)
        if discovered > barred_after:
            return (
                "art36_time_barred",
                f"违法行为在{years}年内未被发现，不再给予行政处罚（行政处罚法第三十六条）",
                f"not discovered within {years} years: no penalty (Art. 36)",
                False,
            )
    if (
        facts.party_type is PartyType.CITIZEN
        and facts.party_age is not None
        and facts.party_age < 14
    ):
        return (
            "art30_under_14",
            "不满十四周岁，不予行政处罚，责令监护人加以管教（第三十条）",
            "under 14: no penalty, the guardian is told to discipline (Art. 30)",
            False,
        )
    if facts.incapacity:
        return (
            "art31_incapacity",
            "不能辨认或者不能控制自己行为时有违法行为，不予行政处罚（第三十一条）",
            "unable to recognise or control the act: no penalty (Art. 31)",
            False,
        )
    if facts.minor and facts.corrected and facts.harm is Harm.NONE:
        return (
            "art33_minor_corrected",
            "违法行为轻微并及时改正，没有造成危害后果，不予行政处罚（第三十三条第一款）",
            "minor, corrected in time and no harm: no penalty (Art. 33 ¶1)",
            False,
        )
    # Art. 33 ¶1, second sentence: 初次违法且危害后果轻微并及时改正 - "may": recommended and flagged
    # as discretionary (the officer may still punish, with the reasons on file).
    if facts.first_offence and facts.corrected and facts.harm is not Harm.SERIOUS:
        return (
            "art33_first_offence",
            "初次违法且危害后果轻微并及时改正，可以不予行政处罚（第三十三条第一款）",
            "a first offence with slight harm, corrected in time: may go unpunished (Art. 33 ¶1)",
            True,
        )
    return None


def _lighter_grounds(facts: Facts) -> list[str]:
    grounds = [m.value for m in sorted(facts.mitigation)]
    if (
        facts.party_type is PartyType.CITIZEN
        and facts.party_age is not None
        and facts.party_age < 18
    ):
        grounds.append("minor_14_17")
    return grounds


def _lowest_tier_fine(item: Item | None, fallback: Decimal) -> Decimal:
    fines = [
        v
        for t in (item.tiers if item else ())
        for v in (t.outcome.fine, t.outcome.fine_min)
        if v is not None and v > 0
    ]
    return min(fines, default=fallback)


def _quantity(per: str, facts: Facts) -> Decimal | None:
    return facts.area_m2 if per == "area_m2" else facts.quantity


def _range_quantity(matter: Matter, facts: Facts) -> Decimal | None:
    return facts.area_m2 if matter.range.unit in ("m2", "m²", "平方米") else facts.quantity


def _evaluate(standard: Standard, matter: Matter, facts: Facts, act_date: date) -> Recommendation:
    zh: list[str] = [f"适用《{standard.title}》"]
    en: list[str] = [f"standard {standard.code} ({standard.title})"]
    bounds = matter.range.fine_bounds(_range_quantity(matter, facts), facts.illegal_gains)
    common: dict[str, Any] = {
        "matter": matter.code,
        "standard": standard.code,
        "standard_title": standard.title,
        "statutory_bounds": bounds,
        "correction_first": matter.correction_first,
        "allowed_types": matter.range.penalty_types,
    }
    pre = _pre_tier(facts, act_date)
    if pre is not None:
        rule, pzh, pen, discretionary = pre
        return Recommendation(
            **common,
            tier=None,
            tier_label=None,
            pre_tier=rule,
            penalty=Penalty(frozenset()),
            fine_band=None,
            clamped=False,
            discretionary=discretionary,
            lighter=False,
            simple_procedure=False,
            explanation_zh=(*zh, pzh),
            explanation_en=(*en, pen),
        )
    item = standard.items.get(matter.code)
    tier = next((t for t in item.tiers if t.matches(facts)), None) if item else None
    if tier is None:
        return Recommendation(
            **common,
            tier=None,
            tier_label=None,
            pre_tier=None,
            penalty=None,
            fine_band=None,
            clamped=False,
            discretionary=False,
            lighter=False,
            simple_procedure=False,
            explanation_zh=(*zh, "裁量基准没有与案情相符的档次，在法定幅度内裁量并说明理由"),
            explanation_en=(
                *en,
                "no tier of the standard fits the facts: decide within the "
                "statutory range and give the reasons",
            ),
        )
    o = tier.outcome
    zh.append(
        f"档次「{tier.label}」"
        + ("：" + "，".join(c.text("zh") for c in tier.when) if tier.when else "")
    )
    en.append(
        f"tier '{tier.id}'"
        + (": " + ", ".join(c.text("en") for c in tier.when) if tier.when else "")
    )
    fine = Decimal(0)
    band: tuple[Decimal, Decimal] | None = None
    if o.type is OutcomeType.FIXED and o.fine is not None:
        fine = o.fine
    elif o.type is OutcomeType.RANGE and o.fine_min is not None and o.fine_max is not None:
        band = (o.fine_min, o.fine_max)
        fine = o.fine_min
    elif o.type is OutcomeType.RATE and o.rate is not None:
        qty = _quantity(o.per, facts)
        if qty is None:
            zh.append(f"缺少计罚数量（{o.per}），无法计算罚款")
            en.append(f"the fine needs {o.per}, which the facts do not give")
            return Recommendation(
                **common,
                tier=tier.id,
                tier_label=tier.label,
                pre_tier=None,
                penalty=None,
                fine_band=None,
                clamped=False,
                discretionary=False,
                lighter=False,
                simple_procedure=False,
                explanation_zh=tuple(zh),
                explanation_en=tuple(en),
            )
        fine = (o.rate * qty).quantize(Decimal("0.01"))
        zh.append(f"{_yuan(o.rate)}元 × {qty} = {_yuan(fine)}元")
        en.append(f"{_yuan(o.rate)} yuan x {qty} = {_yuan(fine)} yuan")
    lighter = False
    grounds = _lighter_grounds(facts)
    if grounds and fine > 0 and bounds is not None:
        # 从轻: the statutory minimum; where the statute sets none ("五百元以下"), the lowest
        # fine of the standard's own tiers for this matter. 减轻 below the minimum is a
        # collective decision (Art. 57), never computed here.
        lighter, band = True, None
        floor = bounds[0] if bounds[0] > 0 else _lowest_tier_fine(item, fine)
        fine = min(fine, floor)
        zh.append(
            f"依法应当从轻（第三十二条/第三十条：{'、'.join(grounds)}），按最低额{_yuan(fine)}元"
        )
        en.append(
            f"a lighter penalty is mandatory (Art. 32/30: {', '.join(grounds)}):"
            f" the lowest amount, {_yuan(fine)}"
        )
    clamped = False
    types: set[PenaltyType] = set(o.extras)
    if o.warning:
        types.add(PenaltyType.WARNING)
    dropped = sorted(types - matter.range.penalty_types)
    if dropped:
        clamped = True
        types -= set(dropped)
        zh.append(f"法定处罚种类不含{'、'.join(dropped)}，已去除")
        en.append(f"the provision allows no {', '.join(dropped)}: left out")
    if fine > 0:
        if PenaltyType.FINE not in matter.range.penalty_types:
            clamped, fine = True, Decimal(0)
            zh.append("法定处罚种类不含罚款，已去除")
            en.append("the provision allows no fine: left out")
        elif bounds is not None and not bounds[0] <= fine <= bounds[1]:
            clamped = True
            fine = min(max(fine, bounds[0]), bounds[1])
            zh.append(f"按法定幅度{_yuan(bounds[0])}-{_yuan(bounds[1])}元调整为{_yuan(fine)}元")
            en.append(
                f"brought into the statutory range {_yuan(bounds[0])}-{_yuan(bounds[1])}:"
                f" {_yuan(fine)}"
            )
    if fine > 0:
        types.add(PenaltyType.FINE)
    confiscation = (
        o.confiscation
        if types & {PenaltyType.CONFISCATE_PROPERTY, PenaltyType.CONFISCATE_GAINS}
        else ""
    )
    penalty = Penalty(frozenset(types), fine, confiscation)
    if penalty.is_none:
        zh.append("本档次不予罚款" + ("，先责令改正" if matter.correction_first else ""))
        en.append(
            "no penalty at this tier"
            + (", order correction first" if matter.correction_first else "")
        )
    else:
        zh.append(f"建议：{penalty_text(types, 'zh')}" + (f" {_yuan(fine)}元" if fine else ""))
        en.append(
            f"recommended: {penalty_text(types, 'en')}" + (f" {_yuan(fine)} yuan" if fine else "")
        )
    simple = not penalty.is_none and simple_procedure_refusal(facts.party_type, penalty) is None
    return Recommendation(
        **common,
        tier=tier.id,
        tier_label=tier.label,
        pre_tier=None,
        penalty=penalty,
        fine_band=band if not clamped else None,
        clamped=clamped,
        discretionary=False,
        lighter=lighter,
        simple_procedure=simple,
        explanation_zh=tuple(zh),
        explanation_en=tuple(en),
    )


def _heavier(a: Recommendation, b: Recommendation) -> bool:
    if a.penalty is None or b.penalty is None:
        return False
    return a.penalty.heavier_than(b.penalty)


def recommend(
    standards: Sequence[Standard],
    matter: Matter,
    facts: Facts,
    act_date: date,
    decided_on: date | None = None,
) -> Recommendation:
    """The recommended penalty for ``matter`` on ``facts``: the standard in force on
    ``act_date``, or the one in force on ``decided_on`` when it is lighter (Art. 37)."""
    covering = [s for s in standards if matter.code in s.items]
    at_act = max(
        (s for s in covering if s.in_force(act_date)), key=lambda s: s.in_force_from, default=None
    )
    at_decision = None
    if decided_on is not None:
        at_decision = max(
            (s for s in covering if s.in_force(decided_on)),
            key=lambda s: s.in_force_from,
            default=None,
        )
    if at_act is None and at_decision is None:
        bounds = matter.range.fine_bounds(_range_quantity(matter, facts), facts.illegal_gains)
        pre = _pre_tier(facts, act_date)
        return Recommendation(
            matter=matter.code,
            standard=None,
            standard_title=None,
            tier=None,
            tier_label=None,
            pre_tier=pre[0] if pre else None,
            penalty=Penalty(frozenset()) if pre else None,
            fine_band=None,
            statutory_bounds=bounds,
            clamped=False,
            discretionary=bool(pre and pre[3]),
            lighter=False,
            correction_first=matter.correction_first,
            allowed_types=matter.range.penalty_types,
            simple_procedure=False,
            explanation_zh=("没有在违法行为发生时有效的裁量基准" + (f"；{pre[1]}" if pre else ""),),
            explanation_en=(
                "no discretion standard was in force on the date of the act"
                + (f"; {pre[2]}" if pre else ""),
            ),
        )
    first = _evaluate(at_act, matter, facts, act_date) if at_act else None
    if at_decision is None or at_decision is at_act:
        assert first is not None
        return first
    newer = _evaluate(at_decision, matter, facts, act_date)
    if first is None:
        return newer
    if _heavier(first, newer):
        assert at_act is not None
        return replace(
            newer,
            explanation_zh=(
                *newer.explanation_zh,
                f"新基准较轻，适用新基准（第三十七条），不适用{at_act.code}",
            ),
            explanation_en=(
                *newer.explanation_en,
                f"lighter than {at_act.code}: applies (Art. 37)",
            ),
        )
    return first


def departure(recommendation: Recommendation, decided: Penalty, reason: str) -> Departure:
    """A decision that departs from the recommendation: it needs a written reason, stays
    within the statutory range (the bounds the recommendation was computed with), and is
    always flagged for legal review."""
    reason = reason.strip()
    if not reason:
        raise DepartureRefused("a departure from the discretion standard needs a written reason")
    problems = [
        f"the provision allows no penalty of type '{t}'"
        for t in sorted(decided.types - recommendation.allowed_types)
    ]
    if PenaltyType.FINE in decided.types:
        bounds = recommendation.statutory_bounds
        if bounds is None:
            problems.append("the provision's fine cannot be computed from the facts given")
        elif not bounds[0] <= decided.fine <= bounds[1]:
            problems.append(f"the fine {decided.fine} is outside the range {bounds[0]}-{bounds[1]}")
    if problems:
        raise DepartureRefused(
            "; ".join(problems) + " (a departure stays within the statutory range)"
        )
    rec = recommendation.penalty
    if rec is not None and decided.types == rec.types:
        band = recommendation.fine_band
        if decided.fine == rec.fine or (band is not None and band[0] <= decided.fine <= band[1]):
            raise DepartureRefused(
                "the decided penalty follows the recommendation: not a departure"
            )
    return Departure(
        matter=recommendation.matter,
        standard=recommendation.standard,
        tier=recommendation.tier,
        recommended=rec,
        decided=decided,
        reason=reason,
        heavier=rec is not None and decided.heavier_than(rec),
    )


def facts_from(raw: Mapping[str, Any]) -> Facts:
    """Facts from plain values (the API's and the web form's)."""
    kw: dict[str, Any] = {}
    for f in fields(Facts):
        if f.name not in raw or raw[f.name] is None:
            continue
        v = raw[f.name]
        if f.name == "party_type":
            v = PartyType(v)
        elif f.name == "harm":
            v = Harm(v)
        elif f.name == "mitigation":
            v = frozenset(Mitigation(m) for m in v)
        elif f.name in ("area_m2", "quantity", "illegal_gains"):
            v = Decimal(str(v))
        elif f.name == "discovered_on" and not isinstance(v, date):
            v = date.fromisoformat(str(v))
        kw[f.name] = v
    return Facts(**kw)
