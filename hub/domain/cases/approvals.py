"""Approval chains as data: who approves which act of a case, in which order (CASES.md §3).

"Guards are code; approval chains, thresholds and catalogs are data." A chain is an ordered list
of steps, each naming the role that approves it. The rule that applies to an act is the most
specific one that matches the case: a rule for the matter's category beats a general one, a rule
for the procedure beats one for any procedure, and among those the highest fine threshold the
amount reaches wins — so "fines >= 10,000 also need the department head" is one more rule::

    act + case (category, procedure) + amount
        └─> matching rules ─> most specific ─> [Step(team_leader), Step(department_head)]

The law behind the default set: 立案 is approved by the agency's responsible person (Art. 54),
先行登记保存 "经行政机关负责人批准" (Art. 56), 查封扣押 reported to and approved by the agency head
(行政强制法 Art. 18 (1)), the decision taken by the agency's head after reviewing the
investigation (Art. 57). 撤案 and 不予立案 get the department head too: they end a case, and the
seed asks that nobody "随意撤销案件" (seed §15).

An approver never approves a step of their own case (they are not among its officers), never
approves two steps of one chain, and must hold the step's role; steps are approved in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from hub.domain.cases.law import Officer, Procedure
from hub.domain.cases.refusals import ApprovalRefused, Rule

if TYPE_CHECKING:
    from hub.domain.cases.case import Case


class ApprovalAct(StrEnum):
    FILING = "filing"  # 立案
    NO_FILING = "no_filing"  # 不予立案
    WITHDRAWAL = "withdrawal"  # 撤案
    PRESERVATION = "preservation"  # 先行登记保存
    SEIZURE = "seizure"  # 查封 / 扣押
    SEIZURE_EXTENSION = "seizure_extension"  # 延长查封扣押 (强制法 Art. 25)
    DECISION_EXTENSION = "decision_extension"  # 延长办案期限 (Art. 60, where a rule allows)
    DECISION = "decision"  # 行政处罚决定
    CLOSING = "closing"  # 结案
    CORRECTION = "correction"  # 更正 a recorded entry


# The roles a chain names. The hub's account roles map onto these in the service: a team's
# supervisor is its team leader; the department head and the legal office are roles of their own.
TEAM_LEADER = "team_leader"  # 中队长 / 队长
DEPARTMENT_HEAD = "department_head"  # 行政机关负责人 (分管领导)
LEGAL_OFFICE = "legal_office"  # 法制机构


@dataclass(frozen=True)
class Step:
    role: str
    label: str  # as printed in the approval form's signature block


@dataclass(frozen=True)
class ApprovalRule:
    act: ApprovalAct
    steps: tuple[Step, ...]
    category: str | None = None  # the matter's category (户外广告, 燃气 ...); None: any
    procedure: Procedure | None = None  # None: either
    min_fine: Decimal = Decimal(0)  # applies when the act's amount is at least this

    def __post_init__(self) -> None:
        # Every act listed is one the law has someone approve: an empty chain would make an
        # approved transition an unapproved one.
        if not self.steps:
            raise ValueError(f"the approval chain for {self.act.value} needs at least one step")

    def matches(self, category: str, procedure: Procedure, amount: Decimal) -> bool:
        return (
            (self.category is None or self.category == category)
            and (self.procedure is None or self.procedure == procedure)
            and amount >= self.min_fine
        )

    def specificity(self) -> tuple[bool, bool, Decimal]:
        return (self.category is not None, self.procedure is not None, self.min_fine)


@dataclass(frozen=True)
class ApprovalConfig:
    rules: tuple[ApprovalRule, ...]


_LEADER = Step(TEAM_LEADER, "中队负责人意见")
_HEAD = Step(DEPARTMENT_HEAD, "行政机关负责人意见")
_LEGAL = Step(LEGAL_OFFICE, "法制机构意见")

DEFAULT_APPROVALS = ApprovalConfig(
    rules=(
        ApprovalRule(ApprovalAct.FILING, (_LEADER, _HEAD)),
        ApprovalRule(ApprovalAct.NO_FILING, (_LEADER, _HEAD)),
        ApprovalRule(ApprovalAct.WITHDRAWAL, (_LEADER, _HEAD)),
        ApprovalRule(ApprovalAct.PRESERVATION, (_LEADER, _HEAD)),
        ApprovalRule(ApprovalAct.SEIZURE, (_LEADER, _HEAD)),
        # 强制法 Art. 25: "情况复杂的，经行政机关负责人批准，可以延长"
        ApprovalRule(ApprovalAct.SEIZURE_EXTENSION, (_LEADER, _HEAD)),
        ApprovalRule(ApprovalAct.DECISION_EXTENSION, (_LEADER, _HEAD)),
        ApprovalRule(ApprovalAct.DECISION, (_LEADER, _HEAD)),
        # Large fines: the legal office signs between the team and the head (local lists put
        # fines >= 10,000 for a citizen under 法制审核; the amount is the decision's).
        ApprovalRule(ApprovalAct.DECISION, (_LEADER, _LEGAL, _HEAD), min_fine=Decimal(10000)),
        ApprovalRule(ApprovalAct.CLOSING, (_LEADER,)),
        ApprovalRule(ApprovalAct.CLOSING, (_LEADER, _HEAD), min_fine=Decimal(10000)),
        ApprovalRule(ApprovalAct.CORRECTION, (_LEADER, _HEAD)),
        # Gas safety touches life and health: even filing goes past the legal office.
        ApprovalRule(ApprovalAct.FILING, (_LEADER, _LEGAL, _HEAD), category="燃气"),
    )
)


def required_approvals(
    config: ApprovalConfig, case: Case, act: ApprovalAct, amount: Decimal | None = None
) -> list[Step]:
    """The ordered steps that must approve ``act`` on ``case``; ``amount`` is the fine the act
    concerns (the decision's, or for 结案 the decided one) and defaults to the case's."""
    if amount is None:
        amount = case.decided.fine if case.decided is not None else Decimal(0)
    matching = [
        r for r in config.rules if r.act == act and r.matches(case.category, case.procedure, amount)
    ]
    if not matching:
        raise ApprovalRefused(
            Rule.NO_CHAIN,
            f"no approval chain is configured for {act.value} of a {case.procedure.value} case "
            f"in category {case.category}: ask an administrator to add one",
        )
    return list(max(matching, key=ApprovalRule.specificity).steps)


@dataclass(frozen=True)
class Approval:
    step: Step
    approver_id: str
    opinion_sha256: str
    at: str


@dataclass(frozen=True)
class PendingApproval:
    """An act waiting for its chain; ``request`` is the command that asked for it."""

    act: ApprovalAct
    steps: tuple[Step, ...]
    request: object
    requested_by: str
    approvals: tuple[Approval, ...] = ()

    @property
    def next_step(self) -> Step | None:
        done = len(self.approvals)
        return self.steps[done] if done < len(self.steps) else None

    @property
    def complete(self) -> bool:
        return self.next_step is None


def check_approver(
    pending: PendingApproval, approver: Officer, case_officers: frozenset[str]
) -> Step:
    """The step ``approver`` may approve (or reject) now, or the refusal saying why not."""
    step = pending.next_step
    if step is None:  # a complete chain is applied at once; it never stays pending
        raise ApprovalRefused(Rule.NO_APPROVAL_PENDING, f"{pending.act.value} is fully approved")
    if approver.staff_id in case_officers:
        raise ApprovalRefused(
            Rule.APPROVER_OWN_CASE,
            f"{approver.name} is an officer of this case and may not approve its "
            f"{pending.act.value} ({step.label})",
        )
    if approver.staff_id == pending.requested_by:
        raise ApprovalRefused(
            Rule.APPROVER_OWN_CASE,
            f"{approver.name} asked for this {pending.act.value}: someone else approves it",
        )
    if any(a.approver_id == approver.staff_id for a in pending.approvals):
        raise ApprovalRefused(
            Rule.APPROVER_TWICE,
            f"{approver.name} already signed this {pending.act.value}: each step of a chain "
            "needs a different person",
        )
    if step.role not in approver.roles:
        raise ApprovalRefused(
            Rule.APPROVER_ROLE,
            f"the next step of {pending.act.value} is '{step.label}' ({step.role}); "
            f"{approver.name} does not hold that role",
        )
    return step
