"""Repair-ticket use cases: report a fault (by hand or from an alert), move the ticket through
its steps with cost, supplier and notes, and read a device's service history.

A step that moves the device (into repair, back to stock, retired) goes through
``services.inventory.change_status``, in the same transaction: the same lifecycle rules, role
checks, custody closure and audit record as a status change made by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg

from hub.domain import tickets as rules
from hub.domain.alerts import AlertState
from hub.domain.errors import Conflict, Invalid
from hub.domain.lifecycle import DeviceStatus
from hub.domain.principal import Principal
from hub.domain.roles import Action, allowed
from hub.domain.tickets import TicketState
from hub.repositories import alerts as alert_repo
from hub.repositories import audit
from hub.repositories import devices as device_repo
from hub.repositories import tickets as repo
from hub.services import inventory

AConn = psycopg.AsyncConnection[Any]


async def _device(conn: AConn, p: Principal, device_id: str) -> dict[str, Any]:
    return p.visible(await device_repo.get(conn, device_id, lock=True), f"device {device_id}")


async def create(
    conn: AConn,
    p: Principal,
    *,
    device_id: str | None,
    alert_id: int | None,
    fault: str | None,
    notes: str | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Open a ticket for a device, or for the device of an alert (which it acknowledges)."""
    p.require(Action.TICKETS)
    now = now or datetime.now(UTC)
    async with conn.transaction():
        source = None
        if alert_id is not None:
            source = p.visible(await alert_repo.get(conn, alert_id, lock=True), f"alert {alert_id}")
            if device_id is not None and device_id != source["device_id"]:
                raise Conflict(f"alert {alert_id} is about {source['device_id']}, not {device_id}")
            device_id = source["device_id"]
            fault = fault or source["detail"] or source["kind"]
        if device_id is None or fault is None:
            raise Invalid("give a device_id and a fault, or an alert_id")
        device = await _device(conn, p, device_id)
        if device["status"] in (DeviceStatus.RETIRED, DeviceStatus.LOST):
            raise Conflict(f"device {device_id} is {device['status']}: it cannot be repaired")
        existing = await repo.open_ticket(conn, device_id)
        if existing is not None:
            raise Conflict(
                f"device {device_id} already has open repair ticket {existing['id']} "
                f"({existing['state']})",
                ticket_id=existing["id"],
            )
        ticket_id = await repo.insert(
            conn, device_id, alert_id=alert_id, fault=fault, by=p.username, at=now, notes=notes
        )
        await repo.add_step(
            conn,
            ticket_id,
            at=now,
            actor=p.username,
            from_state=None,
            to_state=TicketState.REPORTED.value,
            notes=notes,
        )
        if source is not None and source["state"] == AlertState.ACTIVE:
            await alert_repo.ack(conn, source["id"], p.username, now)
            await audit.record(
                conn,
                p.username,
                "alert.ack",
                "alert",
                str(source["id"]),
                org_unit_id=source["org_unit_id"],
                before=audit.jsonable(source),
                after={"state": AlertState.ACKED.value, "repair_ticket": ticket_id},
            )
        row = await repo.get(conn, ticket_id)
        assert row is not None
        await audit.record(
            conn,
            p.username,
            "ticket.create",
            "repair_ticket",
            str(ticket_id),
            org_unit_id=row["org_unit_id"],
            after=audit.jsonable(row),
        )
    return row


async def transition(
    conn: AConn,
    p: Principal,
    ticket_id: int,
    target: TicketState,
    *,
    cost_yuan: Decimal | None = None,
    supplier: str | None = None,
    notes: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    p.require(Action.TICKETS)
    now = now or datetime.now(UTC)
    async with conn.transaction():
        peek = p.visible(await repo.get(conn, ticket_id), f"ticket {ticket_id}")
        # Device first, then ticket: the order ticket creation takes them in (no deadlock).
        device = await _device(conn, p, peek["device_id"])
        before = await repo.get(conn, ticket_id, lock=True)
        assert before is not None
        current = TicketState(before["state"])
        rules.transition(current, target)
        move = rules.device_effect(target, DeviceStatus(device["status"]))
        if move is not None:
            await inventory.change_status(
                conn,
                p,
                before["device_id"],
                move,
                f"repair ticket {ticket_id}: {current.value} -> {target.value}",
            )
        changes: dict[str, Any] = {"state": target.value, "updated_at": now}
        if target not in rules.OPEN:
            changes["closed_at"] = now
        for key, value in (("cost_yuan", cost_yuan), ("supplier", supplier), ("notes", notes)):
            if value is not None:
                changes[key] = value
        await repo.update(conn, ticket_id, changes)
        await repo.add_step(
            conn,
            ticket_id,
            at=now,
            actor=p.username,
            from_state=current.value,
            to_state=target.value,
            cost_yuan=cost_yuan,
            supplier=supplier,
            notes=notes,
        )
        after = await repo.get(conn, ticket_id)
        assert after is not None
        await audit.record(
            conn,
            p.username,
            f"ticket.{target.value}",
            "repair_ticket",
            str(ticket_id),
            org_unit_id=after["org_unit_id"],
            before=audit.jsonable(before),
            after=audit.jsonable(after),
        )
    return after


async def ticket(conn: AConn, p: Principal, ticket_id: int) -> dict[str, Any]:
    p.require(Action.TICKETS)
    row = p.visible(await repo.get(conn, ticket_id), f"ticket {ticket_id}")
    return {**row, "steps": await repo.steps(conn, [ticket_id])}


async def listing(
    conn: AConn, p: Principal, filters: dict[str, Any], limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    p.require(Action.TICKETS)
    return await repo.listing(conn, p.scope, filters=filters, limit=limit, offset=offset)


async def for_alerts(conn: AConn, p: Principal, alerts: list[dict[str, Any]]) -> dict[int, int]:
    """The ticket opened from each of ``alerts`` (rows the caller has read), for roles that
    handle tickets; nothing for the others (they may not read tickets)."""
    if not allowed(p.role, Action.TICKETS) or not alerts:
        return {}
    return await repo.by_alerts(conn, [int(a["id"]) for a in alerts])


async def service_history(conn: AConn, p: Principal, device_id: str) -> dict[str, Any]:
    """Every repair of a device, newest first, each with its steps; and what they cost."""
    await inventory.device(conn, p, device_id)  # read permission and reach
    tickets = await repo.of_device(conn, device_id)
    steps: dict[int, list[dict[str, Any]]] = {t["id"]: [] for t in tickets}
    for s in await repo.steps(conn, list(steps)):
        steps[s["ticket_id"]].append(s)
    total = sum((t["cost_yuan"] for t in tickets if t["cost_yuan"] is not None), Decimal(0))
    return {
        "device_id": device_id,
        "tickets": [{**t, "steps": steps[t["id"]]} for t in tickets],
        "repairs": len(tickets),
        "total_cost_yuan": total,
    }
