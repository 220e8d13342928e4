"""The guards of the case workflow: the law's preconditions as code (CASES.md §3).

Each guard returns nothing when the act is allowed and raises a typed refusal
(``refusals.py``) whose sentence names the rule and says what to do. Pure: the day is passed in.

    two_certified_officers   Art. 42 (>= 2 officers with certificates), Art. 55 (every 笔录)
    not_time_barred          Art. 36 (2 years; 5 with life/health or finance and harm)
    within_statutory_range   the matter's penalty provision (catalog)
    within_simple_limits     Art. 51 (警告, <= 200 yuan citizen, <= 3,000 organisation)
    order_came_first         the matter requires 责令改正 first, and it was not complied with
    may_decide               Art. 44-45, 62-65: 告知 delivered; statements re-examined or the
                             period over; a requested hearing held
    not_heavier_than_notice  Art. 45: no heavier penalty because the party argued
    legal_review_passed      Art. 58: no decision before a required 法制审核 passed
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

from hub.domain.cases.commands import MatterTerms
from hub.domain.cases.law import Officer, PartyType, Penalty, simple_procedure_refusal
from hub.domain.cases.refusals import PenaltyRefused, Rule, RuleRefused

# China keeps one time zone without DST; legal days are Beijing days (CASES.md §1).
BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def local_day(now: dt.datetime) -> dt.date:
    """The Beijing calendar day of ``now`` (which must carry its offset)."""
    if now.tzinfo is None:
        raise ValueError("the lifecycle needs aware datetimes (with an offset)")
    return now.astimezone(BEIJING).date()


def sha256_text(text: str) -> str:
    """The digest a free-text reason leaves in the public log (never the text itself)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def add_years(day: dt.date, years: int) -> dt.date:
    """The same day ``years`` later; 29 February becomes 28 February (a period in years ends
    on the corresponding day, and a year without it ends on its last day of February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def two_certified_officers(officers: tuple[Officer, ...], day: dt.date, act: str) -> None:
    """Art. 42: at least two enforcement officers holding valid certificates on ``day``."""
    seen: dict[str, Officer] = {}
    for o in officers:
        seen.setdefault(o.staff_id, o)
    iso = day.isoformat()
    valid = [o for o in seen.values() if o.certified_on(iso)]
    if len(valid) >= 2:
        return
    lacking = [
        f"{o.name} (no certificate)"
        if not o.certificate_no
        else f"{o.name} (certificate expired {o.certificate_expires})"
        for o in seen.values()
        if not o.certified_on(iso)
    ]
    why = f"; not counted: {', '.join(lacking)}" if lacking else ""
    raise RuleRefused(
        Rule.TWO_OFFICERS,
        f"{act} needs at least 2 officers holding a valid enforcement certificate on {iso} "
        f"(Art. 42, Art. 55): {len(valid)} given{why}",
    )


def limitation_end(act_date: dt.date, severe_harm: bool) -> dt.date:
    """The last day an act can still be discovered and punished (Art. 36)."""
    return add_years(act_date, 5 if severe_harm else 2)


def not_time_barred(act_date: dt.date, discovered: dt.date, severe_harm: bool) -> None:
    """Art. 36: "违法行为在二年内未被发现的，不再给予行政处罚" — five years where citizens'
    life and health or financial security are involved and harm occurred. The period runs from
    the act (its end, if continuing) to its discovery."""
    end = limitation_end(act_date, severe_harm)
    if discovered > end:
        years = 5 if severe_harm else 2
        raise RuleRefused(
            Rule.TIME_BARRED,
            f"the act of {act_date.isoformat()} is time-barred: it was discovered on "
            f"{discovered.isoformat()}, after the {years}-year limit ended on "
            f"{end.isoformat()} (Art. 36); no penalty may be given",
        )


def within_statutory_range(
    matter: MatterTerms, penalty: Penalty, quantity: Decimal | None, base_value: Decimal | None
) -> None:
    """A penalty only within what the matter's penalty provision allows."""
    problems = matter.range.violations(penalty, quantity, base_value)
    if problems:
        raise PenaltyRefused(
            Rule.STATUTORY_RANGE,
            f"the penalty is outside what matter {matter.code} allows: " + "; ".join(problems),
        )


def within_simple_limits(party: PartyType, penalty: Penalty) -> None:
    """Art. 51: on the spot only a warning or a small fine."""
    why = simple_procedure_refusal(party, penalty)
    if why is not None:
        raise PenaltyRefused(Rule.SIMPLE_LIMITS, why)


def order_came_first(matter: MatterTerms, penalty: Penalty, order_refused: bool | None) -> None:
    """Where the matter's provision says "责令改正; 拒不改正的, 处…" (e.g. 占道经营, 深圳市容条例
    Art. 18), a penalty needs an order first that was not complied with. ``order_refused`` is
    None when no order was issued, False when the party corrected."""
    if not matter.correction_first or penalty.is_none:
        return
    if order_refused is None:
        raise RuleRefused(
            Rule.ORDER_FIRST,
            f"matter {matter.code} requires a 责令改正 first: issue the order and inspect "
            "again after its period before proposing a penalty",
        )
    if not order_refused:
        raise RuleRefused(
            Rule.ORDER_FIRST,
            f"the party corrected as ordered: matter {matter.code} punishes only a refusal to "
            "correct",
        )


def not_heavier_than_notice(decided: Penalty, notified: Penalty, argued: bool) -> None:
    """Art. 45: "不得因当事人陈述、申辩而给予更重的处罚"; and a heavier penalty than the one
    notified was never put to the party at all (Art. 44)."""
    if not decided.heavier_than(notified):
        return
    after = " after the party's statements" if argued else ""
    if decided.fine > notified.fine:
        detail = f"the decided fine {decided.fine} exceeds the notified {notified.fine}{after}"
    else:
        extra = ", ".join(sorted(t.value for t in decided.types - notified.types))
        detail = f"the decision adds penalties the 告知 did not notify{after}: {extra}"
    raise PenaltyRefused(Rule.HEAVIER_THAN_NOTIFIED, detail + " (Art. 44-45)")


def reason_given(reason: str, act: str) -> None:
    if not reason.strip():
        raise RuleRefused(Rule.REASON_REQUIRED, f"{act} needs a written reason")
