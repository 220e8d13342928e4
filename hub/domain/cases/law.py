"""Legal value types every part of the case workflow shares (行政处罚法 2021 revision).

Amounts are ``Decimal`` yuan (a fine can be rate × area, e.g. 1,000 yuan per m² × 2.5 m²).
The catalog (what a matter allows), the discretion standards (what a case should get) and the
lifecycle guards (what an officer may decide) all speak in these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class PartyType(StrEnum):
    """Who the party is: the statute's limits differ (Art. 51, Art. 63)."""

    CITIZEN = "citizen"  # 公民
    ORGANISATION = "organisation"  # 法人或者其他组织


class PenaltyType(StrEnum):
    """The kinds of administrative penalty, 行政处罚法 Art. 9."""

    WARNING = "warning"  # 警告
    CRITICISM = "criticism"  # 通报批评
    FINE = "fine"  # 罚款
    CONFISCATE_GAINS = "confiscate_gains"  # 没收违法所得
    CONFISCATE_PROPERTY = "confiscate_property"  # 没收非法财物
    SUSPEND_LICENCE = "suspend_licence"  # 暂扣许可证件
    LOWER_QUALIFICATION = "lower_qualification"  # 降低资质等级
    REVOKE_LICENCE = "revoke_licence"  # 吊销许可证件
    RESTRICT_BUSINESS = "restrict_business"  # 限制开展生产经营活动
    SUSPEND_BUSINESS = "suspend_business"  # 责令停产停业
    CLOSE = "close"  # 责令关闭
    RESTRICT_EMPLOYMENT = "restrict_employment"  # 限制从业
    DETENTION = "detention"  # 行政拘留 (police only; never a street team's)
    OTHER = "other"  # 法律、行政法规规定的其他行政处罚


class MatterKind(StrEnum):
    """What a catalog matter empowers (权责清单): a penalty, a coercive measure, an inspection."""

    PENALTY = "penalty"  # 行政处罚
    COERCION = "coercion"  # 行政强制
    INSPECTION = "inspection"  # 行政检查


class Procedure(StrEnum):
    SIMPLE = "simple"  # 简易程序 / 当场处罚, Art. 51-52
    ORDINARY = "ordinary"  # 普通程序, Art. 54-


# Art. 51: on the spot only for a warning or a fine up to these amounts.
SIMPLE_FINE_LIMIT: dict[PartyType, Decimal] = {
    PartyType.CITIZEN: Decimal(200),
    PartyType.ORGANISATION: Decimal(3000),
}


@dataclass(frozen=True)
class LegalSubject:
    """The body in whose name a case is handled (CASES.md §4): a street team acts in the
    district department's name, so this is what documents print and numbers are kept per."""

    code: str
    name: str  # printed on documents, e.g. 深圳市福田区城市管理和综合执法局
    seal_name: str
    number_prefix: str  # e.g. 深福执罚 -> 深福执罚〔2026〕第000123号


@dataclass(frozen=True)
class Penalty:
    """A penalty as proposed, notified or decided: its kinds and amounts."""

    types: frozenset[PenaltyType]
    fine: Decimal = Decimal(0)
    confiscation: str = ""  # what is confiscated, in words (没收 ...), empty if nothing

    def __post_init__(self) -> None:
        if self.fine < 0:
            raise ValueError("a fine cannot be negative")
        if (self.fine > 0) != (PenaltyType.FINE in self.types):
            raise ValueError("a fine amount goes with the penalty type 'fine', and only with it")

    @property
    def is_none(self) -> bool:
        """No penalty at all (不予处罚)."""
        return not self.types

    def heavier_than(self, other: Penalty) -> bool:
        """True when this penalty is heavier than ``other`` (Art. 45: never because the party
        argued): a larger fine or any kind of penalty ``other`` did not include."""
        return self.fine > other.fine or not self.types <= other.types


@dataclass(frozen=True)
class StatutoryRange:
    """What the penalty provision allows for a matter (the catalog's 法定处罚幅度)."""

    penalty_types: frozenset[PenaltyType]
    fine_min: Decimal | None = None
    fine_max: Decimal | None = None
    # A per-unit fine ("每平方米一千元"): rate x quantity in ``unit`` (m2, item, vehicle, ...).
    per_unit_rate: Decimal | None = None
    unit: str = ""
    # A fine as a multiple of the illegal gains or the value involved ("一倍以上五倍以下").
    multiple_min: Decimal | None = None
    multiple_max: Decimal | None = None
    notes: str = ""

    def fine_bounds(
        self, quantity: Decimal | None = None, base_value: Decimal | None = None
    ) -> tuple[Decimal, Decimal] | None:
        """The lowest and highest fine this provision allows for the facts, or None when it
        allows no fine (or the facts needed to compute one are missing)."""
        if PenaltyType.FINE not in self.penalty_types:
            return None
        if self.per_unit_rate is not None:
            if quantity is None:
                return None
            amount = self.per_unit_rate * quantity
            return amount, amount
        if self.multiple_min is not None or self.multiple_max is not None:
            if base_value is None:
                return None
            lo = (self.multiple_min or Decimal(0)) * base_value
            hi = (self.multiple_max or self.multiple_min or Decimal(0)) * base_value
            return lo, hi
        lo = self.fine_min if self.fine_min is not None else Decimal(0)
        hi = self.fine_max if self.fine_max is not None else lo
        return lo, hi

    def violations(
        self,
        penalty: Penalty,
        quantity: Decimal | None = None,
        base_value: Decimal | None = None,
    ) -> list[str]:
        """Why ``penalty`` is outside this range (empty when it is inside), in words an officer
        can act on."""
        problems = [
            f"the provision allows no penalty of type '{t}'"
            for t in sorted(penalty.types - self.penalty_types)
        ]
        if PenaltyType.FINE in penalty.types:
            bounds = self.fine_bounds(quantity, base_value)
            if bounds is None:
                problems.append("the provision's fine cannot be computed from the facts given")
            else:
                lo, hi = bounds
                if not lo <= penalty.fine <= hi:
                    problems.append(f"the fine {penalty.fine} is outside the range {lo}-{hi}")
        return problems


def simple_procedure_refusal(party: PartyType, penalty: Penalty) -> str | None:
    """Why this penalty cannot be decided on the spot (Art. 51), or None when it can."""
    allowed = {PenaltyType.WARNING, PenaltyType.FINE}
    if penalty.is_none:
        return "a decision without a penalty is not an on-the-spot penalty"
    if not penalty.types <= allowed:
        return "on the spot only a warning or a fine may be decided (Art. 51)"
    limit = SIMPLE_FINE_LIMIT[party]
    if penalty.fine > limit:
        return (
            f"a fine above {limit} yuan for a {party.value} takes the ordinary procedure (Art. 51)"
        )
    return None


@dataclass(frozen=True)
class Officer:
    """An enforcement officer as the guards see them (the staff record's certificate)."""

    staff_id: str
    name: str
    certificate_no: str | None = None
    certificate_expires: str | None = None  # ISO date; compared as text (YYYY-MM-DD)
    legal_qualification: bool = False  # 法律职业资格 (a legal reviewer's requirement)
    roles: frozenset[str] = field(default_factory=frozenset)

    def certified_on(self, day: str) -> bool:
        """Holds a valid enforcement certificate on ``day`` (ISO date), Art. 42."""
        return bool(self.certificate_no) and (
            self.certificate_expires is None or day <= self.certificate_expires
        )
