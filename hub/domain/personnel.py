"""Personnel status: who may go from which status to which, and where that leaves them. Pure.

Statuses: on_duty, off_duty, on_leave (all within the home team); seconded (借调: working for
another unit, still on the home team's books); transferred (调动: moved to another team for
good); dismissed (final).

A transfer is an event, not a resting state: the person joins the new team as off_duty and the
history row of the change says ``transferred``, so the old team stays in the history (the row
before it). ``transferred`` as a current status means "transferred out" of the city's teams
(records from before the hub); like dismissal it is final here. Returning from a secondment
(to on_duty or off_duty) clears ``seconded_to``; a secondment may also become a transfer.

Blacklisting (citywide, by the national ID hash) goes with a dismissal for serious misconduct,
and only for auxiliaries (执法辅助人员) and patrol members (巡查员): officers (执法人员) are civil
servants, disciplined under the civil service rules, not by this list.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hub.domain.errors import Conflict, Invalid, InvalidTransition


class StaffKind(StrEnum):
    OFFICER = "officer"  # 执法人员
    AUXILIARY = "auxiliary"  # 执法辅助人员
    PATROL = "patrol"  # 巡查员


class StaffStatus(StrEnum):
    ON_DUTY = "on_duty"
    OFF_DUTY = "off_duty"
    ON_LEAVE = "on_leave"
    SECONDED = "seconded"
    TRANSFERRED = "transferred"
    DISMISSED = "dismissed"


S = StaffStatus
TRANSITIONS: dict[StaffStatus, frozenset[StaffStatus]] = {
    S.ON_DUTY: frozenset({S.OFF_DUTY, S.ON_LEAVE, S.SECONDED, S.TRANSFERRED, S.DISMISSED}),
    S.OFF_DUTY: frozenset({S.ON_DUTY, S.ON_LEAVE, S.SECONDED, S.TRANSFERRED, S.DISMISSED}),
    S.ON_LEAVE: frozenset({S.ON_DUTY, S.OFF_DUTY, S.DISMISSED}),
    S.SECONDED: frozenset({S.ON_DUTY, S.OFF_DUTY, S.TRANSFERRED, S.DISMISSED}),
    S.TRANSFERRED: frozenset(),  # transferred out (see the module docstring)
    S.DISMISSED: frozenset(),
}
# Not counted in a team's actual headcount: no longer on its books.
GONE = frozenset({S.TRANSFERRED, S.DISMISSED})
BLACKLISTABLE = frozenset({StaffKind.AUXILIARY, StaffKind.PATROL})


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a person stands: status, home team, and the unit they are seconded to."""

    status: StaffStatus
    org_unit_id: str
    seconded_to: str | None = None


@dataclass(frozen=True, slots=True)
class Change:
    target: StaffStatus
    org_unit_id: str | None = None  # transferred: the new team
    seconded_to: str | None = None  # seconded: the host unit
    blacklist: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    placement: Placement  # what the staff row becomes
    recorded_as: StaffStatus  # the status written to the history row


def transition(kind: StaffKind, current: Placement, change: Change) -> Outcome:
    """The placement after ``change``; ``InvalidTransition``, ``Invalid`` or ``Conflict`` if
    the change cannot be made."""
    target = change.target
    if target not in TRANSITIONS[current.status]:
        allowed = ", ".join(sorted(t.value for t in TRANSITIONS[current.status]))
        raise InvalidTransition(
            f"a person cannot go from {current.status.value} to {target.value}; from "
            f"{current.status.value} they can go to: {allowed or 'none (final)'}",
            current=current.status.value,
            target=target.value,
        )
    _check_units(current, change)
    if change.blacklist:
        if target is not S.DISMISSED:
            raise Invalid("a person is blacklisted only when dismissed")
        if kind not in BLACKLISTABLE:
            raise Conflict(
                "officers (执法人员) are civil servants and are not blacklisted: misconduct "
                "is handled under the civil service discipline rules; only auxiliaries and "
                "patrol members are put on the citywide blacklist"
            )
    if target is S.TRANSFERRED:
        assert change.org_unit_id is not None
        return Outcome(Placement(S.OFF_DUTY, change.org_unit_id, None), S.TRANSFERRED)
    if target is S.SECONDED:
        return Outcome(Placement(S.SECONDED, current.org_unit_id, change.seconded_to), S.SECONDED)
    return Outcome(Placement(target, current.org_unit_id, None), target)


def _check_units(current: Placement, change: Change) -> None:
    """A transfer names the new team (org_unit_id), a secondment the host (seconded_to)."""
    target = change.target
    if target is S.TRANSFERRED:
        if change.org_unit_id is None:
            raise Invalid("transferred needs org_unit_id: the team they move to")
        if change.org_unit_id == current.org_unit_id:
            raise Invalid(f"{current.org_unit_id} is already their team")
    elif change.org_unit_id is not None:
        raise Invalid("org_unit_id is only for transferred (their new team)")
    if target is S.SECONDED:
        if change.seconded_to is None:
            raise Invalid("seconded needs seconded_to: the unit they are seconded to")
        if change.seconded_to == current.org_unit_id:
            raise Invalid(f"{current.org_unit_id} is their own team: a secondment is elsewhere")
    elif change.seconded_to is not None:
        raise Invalid("seconded_to is only for seconded (the unit they go to)")
