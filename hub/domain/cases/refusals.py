"""Why the case workflow refused a command: typed errors that name the rule in words.

Part of the hub's one error tree (``hub.domain.errors``), so the API's one handler turns each
into an RFC 9457 problem whose ``detail`` is the sentence below and whose ``rule`` names it::

    HubError
    ├── Conflict (409)
    │   └── RuleRefused            a guard of the law refused it (立案 not approved, 告知 missing)
    │       ├── WrongState         (also an InvalidTransition) no such command in this state
    │       └── ApprovalRefused    an approval chain refused it (wrong role, own case, out of order)
    └── Invalid (422)
        └── PenaltyRefused         the penalty itself is outside what the law allows
                                   (statutory range, Art. 51 limits, heavier than notified)
"""

from __future__ import annotations

from enum import StrEnum

from hub.domain.errors import Conflict, Invalid, InvalidTransition


class Rule(StrEnum):
    """Every rule a guard enforces; the value is the stable code an API client can match."""

    STATE = "state"  # the command does not exist in this state
    FINAL = "final"  # nothing leaves a final state
    PENDING = "approval_pending"  # another approval must be decided first
    FILING_NOT_APPROVED = "filing_not_approved"  # no investigation before 立案 (CASES.md §9)
    INVESTIGATION_ENDED = "investigation_ended"
    TWO_OFFICERS = "two_certified_officers"  # Art. 42, Art. 55
    TIME_BARRED = "time_barred"  # Art. 36
    STATUTORY_RANGE = "statutory_range"  # the matter's penalty provision
    SIMPLE_LIMITS = "simple_procedure_limits"  # Art. 51
    NOTICE_NOT_DELIVERED = "notice_not_delivered"  # Art. 44, Art. 62
    STATEMENT_PERIOD = "statement_period"  # Art. 45
    STATEMENT_NOT_REEXAMINED = "statement_not_reexamined"  # Art. 45 复核
    HEARING_PENDING = "hearing_pending"  # Art. 64-65
    HEARING_CHAIR = "hearing_chair"  # Art. 64 (4): the chair did not investigate
    DELIVERY = "delivery"  # Art. 61: how a decision may be served
    HEAVIER_THAN_NOTIFIED = "heavier_than_notified"  # Art. 45
    LEGAL_REVIEW = "legal_review_required"  # Art. 58
    ORDER_FIRST = "order_to_correct_first"  # the matter requires 责令改正 first
    REASON_REQUIRED = "reason_required"
    APPROVER_ROLE = "approver_role"
    APPROVER_OWN_CASE = "approver_own_case"
    APPROVER_TWICE = "approver_twice"
    NO_APPROVAL_PENDING = "no_approval_pending"
    NO_CHAIN = "no_approval_chain"
    CASE_NUMBER = "case_number"
    UNKNOWN_REF = "unknown_reference"
    NOT_PERFORMED = "not_performed"
    DECISION_KIND = "decision_kind"


class RuleRefused(Conflict):
    """A guard refused the command; ``rule`` names which, ``detail`` says why in words."""

    title = "Refused by a case rule"

    def __init__(self, rule: Rule, detail: str, **extra: object) -> None:
        super().__init__(detail, rule=rule.value, **extra)
        self.rule = rule


class WrongState(RuleRefused, InvalidTransition):
    """The command does not exist in the case's state (an archived case takes none)."""

    title = "Invalid transition"


class ApprovalRefused(RuleRefused):
    title = "Refused by the approval chain"


class PenaltyRefused(Invalid):
    """The penalty is outside what the law or the notice allows."""

    title = "Penalty not allowed"

    def __init__(self, rule: Rule, detail: str, **extra: object) -> None:
        super().__init__(detail, rule=rule.value, **extra)
        self.rule = rule


CaseRefusal = RuleRefused | PenaltyRefused
