"""The device lifecycle: in stock -> assigned -> in repair -> retired / lost. Pure.

Check-out and check-in move a device between ``in_stock`` and ``assigned``; repairs take it out
of service and bring it back; retirement and loss are final (a lost device that turns up is
brought back into stock explicitly, which the audit log records).
"""

from __future__ import annotations

from enum import StrEnum

from hub.domain.errors import InvalidTransition


class DeviceStatus(StrEnum):
    IN_STOCK = "in_stock"
    ASSIGNED = "assigned"
    IN_REPAIR = "in_repair"
    RETIRED = "retired"
    LOST = "lost"


S = DeviceStatus
TRANSITIONS: dict[DeviceStatus, frozenset[DeviceStatus]] = {
    S.IN_STOCK: frozenset({S.ASSIGNED, S.IN_REPAIR, S.RETIRED, S.LOST}),
    S.ASSIGNED: frozenset({S.IN_STOCK, S.IN_REPAIR, S.LOST}),
    S.IN_REPAIR: frozenset({S.IN_STOCK, S.RETIRED}),
    S.RETIRED: frozenset(),
    S.LOST: frozenset({S.IN_STOCK}),  # found again
}


def transition(current: DeviceStatus, target: DeviceStatus) -> DeviceStatus:
    """``target`` if the lifecycle allows it from ``current``; else ``InvalidTransition``."""
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(t.value for t in TRANSITIONS[current])) or "none (final)"
        raise InvalidTransition(
            f"a device cannot go from {current.value} to {target.value}; from {current.value} "
            f"it can go to: {allowed}",
            current=current.value,
            target=target.value,
        )
    return target
