"""Incidents and dispatch orders: their lifecycles, timings and escalation. Pure.

Incident: ``open -> dispatched -> closed``, or ``cancelled`` (from open or dispatched, always
with a reason). An incident whose every order failed goes back to ``open``.

Order::

    sent ──ack──> acknowledged ──arrive──> arrived ──close──> closed
      │  └────────────arrive (terminal `done`)──┘                ^
      ├── fail (terminal rejected/failed, not delivered) ──> failed
      └── (any active state) ── close / cancel ──────────────────┘ / cancelled

Device-driven events (``Acknowledge``, ``Arrive``, ``Fail``) arrive at least once and out of
order, so one that no longer applies (a late ``accepted`` after ``done``) is ignored: the
order is returned unchanged. People-driven ones (``Close``, ``Cancel``) are refused with
``InvalidTransition`` when they do not apply. ``escalated_at`` is a flag, not a state: an
order still unacknowledged ``ack_timeout`` after it was sent is escalated once, and may still
be acknowledged afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from hub.domain.errors import Invalid, InvalidTransition

SOS_PRIORITY = 1
DEFAULT_ACK_TIMEOUT = timedelta(seconds=60)
DEFAULT_ARRIVAL_RADIUS_M = 100.0


# ------------------------------------------------------------------------- incidents ------
class IncidentState(StrEnum):
    OPEN = "open"
    DISPATCHED = "dispatched"
    CLOSED = "closed"
    CANCELLED = "cancelled"


LIVE_INCIDENT = frozenset({IncidentState.OPEN, IncidentState.DISPATCHED})


class Source(StrEnum):
    DISPATCHER = "dispatcher"
    CITIZEN = "citizen"
    SOS = "sos"


def may_dispatch(state: IncidentState) -> None:
    if state not in LIVE_INCIDENT:
        raise InvalidTransition(f"incident is {state.value}: nothing to dispatch", state=state)


def cancel_incident(state: IncidentState, reason: str | None) -> IncidentState:
    """Cancelling needs a reason that says something: supervisors read it."""
    if reason is None or not reason.strip():
        raise Invalid("a cancellation needs a reason")
    if state not in LIVE_INCIDENT:
        raise InvalidTransition(f"incident is {state.value}: cannot cancel", state=state)
    return IncidentState.CANCELLED


def close_incident(state: IncidentState) -> IncidentState:
    if state not in LIVE_INCIDENT:
        raise InvalidTransition(f"incident is {state.value}: cannot close", state=state)
    return IncidentState.CLOSED


def after_order_ended(state: IncidentState, active_orders_left: int) -> IncidentState:
    """A dispatched incident with no order still working on it needs a dispatcher again."""
    if state is IncidentState.DISPATCHED and active_orders_left == 0:
        return IncidentState.OPEN
    return state


# ---------------------------------------------------------------------------- orders ------
class OrderState(StrEnum):
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    ARRIVED = "arrived"
    CLOSED = "closed"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE = frozenset({OrderState.SENT, OrderState.ACKNOWLEDGED, OrderState.ARRIVED})
ACTIVE_VALUES = tuple(s.value for s in ACTIVE)


@dataclass(frozen=True, slots=True)
class Order:
    state: OrderState
    sent_at: datetime
    acknowledged_at: datetime | None = None
    arrived_at: datetime | None = None
    arrival: str | None = None  # position | terminal
    closed_at: datetime | None = None
    outcome: str | None = None
    failed_at: datetime | None = None
    failure_reason: str | None = None
    escalated_at: datetime | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Order:
        return cls(
            state=OrderState(row["state"]),
            **{k: row[k] for k in _ORDER_FIELDS if k != "state"},
        )

    def changes(self) -> dict[str, Any]:
        """The columns of a ``dispatch_orders`` row a transition may set (not ``sent_at``)."""
        fields = {k: getattr(self, k) for k in _ORDER_FIELDS if k != "sent_at"}
        return fields | {"state": self.state.value}


_ORDER_FIELDS = (
    "state",
    "sent_at",
    "acknowledged_at",
    "arrived_at",
    "arrival",
    "closed_at",
    "outcome",
    "failed_at",
    "failure_reason",
    "escalated_at",
)


@dataclass(frozen=True, slots=True)
class Acknowledge:
    at: datetime


@dataclass(frozen=True, slots=True)
class Arrive:
    at: datetime
    how: str  # position | terminal


@dataclass(frozen=True, slots=True)
class Fail:
    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Escalate:
    at: datetime


@dataclass(frozen=True, slots=True)
class Close:
    at: datetime
    outcome: str


@dataclass(frozen=True, slots=True)
class Cancel:
    at: datetime
    reason: str


Event = Acknowledge | Arrive | Fail | Escalate | Close | Cancel


def transition(order: Order, event: Event) -> Order:
    """The order after ``event``; the same object when the event no longer applies."""
    s = order.state
    match event:
        case Acknowledge(at):
            if s is OrderState.SENT:
                return replace(order, state=OrderState.ACKNOWLEDGED, acknowledged_at=at)
            return order
        case Arrive(at, how):
            if s in (OrderState.SENT, OrderState.ACKNOWLEDGED):
                # ``done`` without ``accepted`` first: arriving implies the order was taken.
                return replace(
                    order,
                    state=OrderState.ARRIVED,
                    acknowledged_at=order.acknowledged_at or at,
                    arrived_at=at,
                    arrival=how,
                )
            return order
        case Fail(at, reason):
            if s in (OrderState.SENT, OrderState.ACKNOWLEDGED):
                return replace(
                    order, state=OrderState.FAILED, failed_at=at, failure_reason=reason or "failed"
                )
            return order
        case Escalate(at):
            if s is OrderState.SENT and order.escalated_at is None:
                return replace(order, escalated_at=at)
            return order
        case Close(at, outcome):
            if not outcome.strip():
                raise Invalid("closing an order needs an outcome")
            if s not in ACTIVE:
                raise InvalidTransition(f"order is {s.value}: cannot close", state=s)
            return replace(order, state=OrderState.CLOSED, closed_at=at, outcome=outcome)
        case Cancel(at, reason):
            if s not in ACTIVE:
                return order  # a cancelled incident leaves ended orders as they were
            return replace(
                order, state=OrderState.CANCELLED, closed_at=at, outcome=f"cancelled: {reason}"
            )
    raise TypeError(f"unknown event {event!r}")  # pragma: no cover - exhaustive above


def due_for_escalation(order: Order, now: datetime, timeout: timedelta) -> bool:
    return (
        order.state is OrderState.SENT
        and order.escalated_at is None
        and now - order.sent_at >= timeout
    )


def arrived_by_position(distance_m: float | None, radius_m: float) -> bool:
    return distance_m is not None and distance_m <= radius_m


def durations(order: Order, now: datetime) -> dict[str, float | None]:
    """Seconds: to acknowledge and to arrive (from sent), on scene (arrived to closed, or to
    now while there), and in all (sent to closed/failed, or to now while active)."""

    def secs(a: datetime | None, b: datetime | None) -> float | None:
        return None if a is None or b is None else round((b - a).total_seconds(), 3)

    ended = order.closed_at or order.failed_at
    on_scene_end = order.closed_at or (now if order.state is OrderState.ARRIVED else None)
    return {
        "to_acknowledge_s": secs(order.sent_at, order.acknowledged_at),
        "to_arrive_s": secs(order.sent_at, order.arrived_at),
        "on_scene_s": secs(order.arrived_at, on_scene_end),
        "total_s": secs(order.sent_at, ended or (now if order.state in ACTIVE else None)),
    }


def history_kind(before: Order, after: Order) -> str | None:
    """The incident event an order's change writes (None: nothing changed)."""
    if after == before:
        return None
    if after.state is not before.state:
        return f"order_{after.state.value}"
    if after.escalated_at is not None and before.escalated_at is None:
        return "order_escalated"
    return None
