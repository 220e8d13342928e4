"""Repair tickets: reported -> diagnosing -> in_repair -> back_in_service | retired. Pure.

A ticket where no fault is found goes straight back into service from ``reported`` or
``diagnosing``. ``back_in_service`` and ``retired`` are final. Each step may move the device in
its own lifecycle (``device_effect``): into repair, back to stock, or out of service for good.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from hub.domain.errors import InvalidTransition
from hub.domain.lifecycle import DeviceStatus


class TicketState(StrEnum):
    REPORTED = "reported"
    DIAGNOSING = "diagnosing"
    IN_REPAIR = "in_repair"
    BACK_IN_SERVICE = "back_in_service"
    RETIRED = "retired"


S = TicketState
TRANSITIONS: Mapping[TicketState, frozenset[TicketState]] = MappingProxyType(
    {
        S.REPORTED: frozenset({S.DIAGNOSING, S.BACK_IN_SERVICE}),
        S.DIAGNOSING: frozenset({S.IN_REPAIR, S.BACK_IN_SERVICE}),
        S.IN_REPAIR: frozenset({S.BACK_IN_SERVICE, S.RETIRED}),
        S.BACK_IN_SERVICE: frozenset(),
        S.RETIRED: frozenset(),
    }
)
OPEN: frozenset[TicketState] = frozenset(s for s, nxt in TRANSITIONS.items() if nxt)


def allowed(current: TicketState) -> list[str]:
    return sorted(t.value for t in TRANSITIONS[current])


def transition(current: TicketState, target: TicketState) -> TicketState:
    """``target`` if a ticket may go there from ``current``; else ``InvalidTransition``."""
    if target not in TRANSITIONS[current]:
        can = allowed(current)
        raise InvalidTransition(
            f"a repair ticket cannot go from {current.value} to {target.value}; from "
            f"{current.value} it can go to: {', '.join(can) or 'none (final)'}",
            current=current.value,
            target=target.value,
            allowed=can,
        )
    return target


def device_effect(target: TicketState, device: DeviceStatus) -> DeviceStatus | None:
    """The lifecycle move a ticket step calls for on its device (None: leave it as it is).

    A device that never left service (no fault found) stays where it is; one already where
    the step would put it is not moved again.
    """
    if target is S.IN_REPAIR:
        return None if device is DeviceStatus.IN_REPAIR else DeviceStatus.IN_REPAIR
    if target is S.BACK_IN_SERVICE:
        return DeviceStatus.IN_STOCK if device is DeviceStatus.IN_REPAIR else None
    if target is S.RETIRED:
        return None if device is DeviceStatus.RETIRED else DeviceStatus.RETIRED
    return None
