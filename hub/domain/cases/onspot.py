"""简易程序 / 当场处罚: decided at the scene, then filed with the agency (Art. 51-52).

    (terminal, offline) 当场行政处罚决定书 on a pre-printed number from the terminal's block
        ──report──> on_spot_decided ──备案 (Art. 52 "报所属行政机关备案")──> on_spot_filed
        on_spot_filed ──履行 (pay within 15 days, Art. 67)──> performed ──结案 [A]──> closed
        on_spot_filed ──结案 [A] (a warning: nothing to perform)──> closed ──归档──> archived

Guards at the report, the same as any penalty plus Art. 51's: the facts are the officers' and
the penalty must be a warning or a fine of at most 200 yuan (citizen) / 3,000 yuan (organisation);
>= 2 officers with certificates valid that day (Art. 42, which applies here too); the act not
time-barred (Art. 36); the fine within the matter's statutory range; for order-first matters
only after a refused 责令改正. The number's accounting (printed / voided / returned) is the block
ledger's (``numbering.py``); here it must be a well-formed number of the legal subject.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from hub.domain.cases.case import Case, Env
from hub.domain.cases.commands import FileOnSpot, OnSpotDecision
from hub.domain.cases.decision import penalty_digest
from hub.domain.cases.effects import DocumentType, Effect, IssueDocument, TimerCode
from hub.domain.cases.guards import (
    local_day,
    not_time_barred,
    order_came_first,
    two_certified_officers,
    within_simple_limits,
    within_statutory_range,
)
from hub.domain.cases.law import Procedure
from hub.domain.cases.numbering import parse_number
from hub.domain.cases.outcome import Outcome, log_event, require_state
from hub.domain.cases.refusals import Rule, RuleRefused
from hub.domain.cases.states import CaseState


def open_on_spot(cmd: OnSpotDecision, now: dt.datetime, env: Env) -> tuple[Case, list[Effect]]:
    """The hub receives a terminal's on-the-spot decision; the case exists from here."""
    day = local_day(now)
    parsed = parse_number(cmd.number)
    if parsed is None or parsed.prefix != cmd.subject.number_prefix:
        raise RuleRefused(
            Rule.CASE_NUMBER,
            f"{cmd.number!r} is not a number of {cmd.subject.name} "
            f"({cmd.subject.number_prefix}〔year〕第nnnnnn号)",
        )
    if cmd.act_date > day:
        raise RuleRefused(Rule.STATE, f"the act's date {cmd.act_date} lies in the future")
    within_simple_limits(cmd.party_type, cmd.penalty)
    two_certified_officers(cmd.officers, day, "an on-the-spot decision")
    not_time_barred(cmd.act_date, day, cmd.severe_harm)
    within_statutory_range(cmd.matter, cmd.penalty, cmd.quantity, cmd.base_value)
    order_came_first(cmd.matter, cmd.penalty, True if cmd.order_refused else None)
    case = Case(
        case_id=cmd.case_id,
        procedure=Procedure.SIMPLE,
        state=CaseState.ON_SPOT_DECIDED,
        subject=cmd.subject,
        matter=cmd.matter,
        party_type=cmd.party_type,
        party_id=cmd.party_id,
        act_date=cmd.act_date,
        severe_harm=cmd.severe_harm,
        discovered=day,
        number=cmd.number,
        filed_on=day,
        decided=cmd.penalty,
        decided_on=day,
        served_on=day,  # handed over on the spot (Art. 52)
    )
    out = Outcome(case)
    out.signed_by(cmd.officers)
    out.effects.append(
        IssueDocument(DocumentType.ON_SPOT_DECISION, cmd.number, printed_at_scene=True)
    )
    if cmd.penalty.fine > 0:
        out.start_calendar(env, TimerCode.PAYMENT, cmd.case_id, day, env.config.payment_days)
    out.refs.update(
        number=cmd.number,
        terminal=cmd.terminal_id,
        sha256=cmd.document_sha256,
        matter=cmd.matter.code,
        subject=cmd.subject.code,
        penalty=penalty_digest(cmd.penalty),
        party_signed=str(cmd.party_signed).lower(),
    )
    # The "state before" of the first event is the state it creates (there was no case).
    return log_event(case, out, cmd, now)


def file_on_spot(case: Case, cmd: FileOnSpot, now: dt.datetime, env: Env) -> Outcome:
    """备案: someone of the agency who did not decide it files the decision."""
    require_state(case, frozenset({CaseState.ON_SPOT_DECIDED}), "备案")
    if cmd.registrar.staff_id in case.officers:
        raise RuleRefused(
            Rule.APPROVER_OWN_CASE,
            f"{cmd.registrar.name} decided this case on the spot: the 备案 is someone else's",
        )
    out = Outcome(replace(case, state=CaseState.ON_SPOT_FILED))
    out.refs.update(registrar=cmd.registrar.staff_id)
    return out
