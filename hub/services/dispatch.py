"""Incidents and dispatch use cases: create, list, cancel and close incidents, propose the
nearest available units, send and close orders, and the periodic sweep (escalation, arrival).

Each function checks the caller's role and reach first, runs in one transaction on the
connection it is given, writes an audit record for every change and an ``incident_events``
entry for every step of an incident. A dispatch order is committed (with its command
``pending``) before the command is published, so the terminal's answer always finds it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import psycopg

from hub.domain import dispatch as rules
from hub.domain.duty import haversine_m
from hub.domain.errors import Conflict, Forbidden, NotFound, Unavailable
from hub.domain.principal import Principal
from hub.domain.roles import Action
from hub.repositories import audit, org
from hub.repositories import dispatch as repo
from hub.services.units import OFFICER, VEHICLE, UnitTracker
from schemas.messages import Command, DispatchArgs
from schemas.topics import Channel, DeviceType, device_topic

AConn = psycopg.AsyncConnection[Any]
HUB = "hub"


class Publisher(Protocol):
    """``hub.notify.Publisher``: publish at QoS 1 (PUBACKed) or raise."""

    async def publish(self, messages: list[tuple[str, bytes]]) -> None: ...


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def with_durations(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {**row, **rules.durations(rules.Order.from_row(row), now)}


async def _incident(conn: AConn, p: Principal, incident_id: int, *, lock: bool = False) -> Any:
    return p.visible(await repo.incident(conn, incident_id, lock=lock), f"incident {incident_id}")


# ------------------------------------------------------------------------ incidents ------
async def create_incident(
    conn: AConn, p: Principal, data: dict[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    """A dispatcher's incident, or a citizen's report (``source`` citizen, with a phone)."""
    p.require(Action.DISPATCH)
    p.reach(data["org_unit_id"], f"org unit {data['org_unit_id']}")
    now = _now(now)
    async with conn.transaction():
        if await org.unit(conn, data["org_unit_id"]) is None:
            raise NotFound(f"org unit {data['org_unit_id']} not found")
        incident_id = await repo.insert_incident(
            conn, {**data, "created_by": p.username, "reported_at": now}
        )
        row = await repo.incident(conn, incident_id)
        assert row is not None
        await repo.add_event(
            conn, incident_id, p.username, "created", now, detail={"source": data["source"]}
        )
        await audit.record(
            conn,
            p.username,
            "incident.create",
            "incident",
            str(incident_id),
            org_unit_id=row["org_unit_id"],
            after=audit.jsonable(row),
        )
    return row


async def incident(conn: AConn, p: Principal, incident_id: int) -> dict[str, Any]:
    """The incident with its orders (and their timings) and its history."""
    p.require(Action.DISPATCH)
    row = await _incident(conn, p, incident_id)
    now = datetime.now(UTC)
    _, orders = await repo.orders(
        conn, p.scope, incident_id=incident_id, staff_id=None, state=None, limit=500, offset=0
    )
    return {
        **row,
        "orders": [with_durations(o, now) for o in orders],
        "events": await repo.events(conn, incident_id),
    }


async def incidents(
    conn: AConn,
    p: Principal,
    *,
    state: str | None,
    org_unit_id: str | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    p.require(Action.DISPATCH)
    return await repo.incidents(
        conn, p.scope, state=state, org_unit_id=org_unit_id, limit=limit, offset=offset
    )


async def _end_orders(
    conn: AConn, p: Principal, incident_id: int, event: rules.Close | rules.Cancel
) -> list[dict[str, Any]]:
    ended = []
    for o in await repo.active_orders(conn, incident_id):
        after = rules.transition(rules.Order.from_row(o), event)
        await repo.update_order(conn, o["id"], after.changes())
        await repo.add_event(
            conn, incident_id, p.username, f"order_{after.state.value}", event.at, order_id=o["id"]
        )
        ended.append(o)
    return ended


async def cancel_incident(
    conn: AConn,
    p: Principal,
    incident_id: int,
    reason: str,
    *,
    tracker: UnitTracker | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Cancel with a reason (kept in the history); active orders end as cancelled."""
    now = _now(now)
    why = reason.strip()

    def cancelled(before: dict[str, Any]) -> tuple[rules.IncidentState, dict[str, Any]]:
        state = rules.cancel_incident(rules.IncidentState(before["state"]), reason)
        return state, {"cancelled_at": now, "cancelled_by": p.username, "cancel_reason": why}

    return await _end_incident(
        conn,
        p,
        incident_id,
        decide=cancelled,
        event=rules.Cancel(now, why),
        names=("cancelled", "incident.cancel"),
        detail={"reason": why},
        tracker=tracker,
        now=now,
    )


async def close_incident(
    conn: AConn,
    p: Principal,
    incident_id: int,
    outcome: str,
    *,
    tracker: UnitTracker | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Close with an outcome; orders still active close with it."""
    now = _now(now)

    def closed(before: dict[str, Any]) -> tuple[rules.IncidentState, dict[str, Any]]:
        state = rules.close_incident(rules.IncidentState(before["state"]))
        return state, {"closed_at": now, "outcome": outcome}

    return await _end_incident(
        conn,
        p,
        incident_id,
        decide=closed,
        event=rules.Close(now, outcome),
        names=("closed", "incident.close"),
        detail={"outcome": outcome},
        tracker=tracker,
        now=now,
    )


async def _end_incident(
    conn: AConn,
    p: Principal,
    incident_id: int,
    *,
    decide: Callable[[dict[str, Any]], tuple[rules.IncidentState, dict[str, Any]]],
    event: rules.Close | rules.Cancel,
    names: tuple[str, str],
    detail: dict[str, Any],
    tracker: UnitTracker | None,
    now: datetime,
) -> dict[str, Any]:
    """Cancel or close: the incident (locked first), its active orders with ``event``, and
    ``names``: the history entry's kind and the audit record's action, in one transaction."""
    p.require(Action.DISPATCH)
    kind, action = names
    async with conn.transaction():
        before = await _incident(conn, p, incident_id, lock=True)
        state, changes = decide(before)
        ended = await _end_orders(conn, p, incident_id, event)
        await repo.update_incident(conn, incident_id, {"state": state.value, **changes})
        await repo.add_event(conn, incident_id, p.username, kind, now, detail=detail)
        after = await repo.incident(conn, incident_id)
        assert after is not None
        await audit.record(
            conn,
            p.username,
            action,
            "incident",
            str(incident_id),
            org_unit_id=before["org_unit_id"],
            before=audit.jsonable(before),
            after=audit.jsonable(after),
        )
    _free(tracker, ended)
    return after


def _free(tracker: UnitTracker | None, orders: list[dict[str, Any]]) -> None:
    if tracker is not None:
        for o in orders:
            tracker.mark_free(o["staff_id"], o["vehicle_id"])


# ------------------------------------------------------------------------ proposals ------
async def proposals(
    conn: AConn,
    p: Principal,
    incident_id: int,
    *,
    tracker: UnitTracker | None,
    k: int = 5,
    max_m: float | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The nearest available units in the caller's reach, and the nearest passed over (why)."""
    p.require(Action.DISPATCH)
    row = await _incident(conn, p, incident_id)
    rules.may_dispatch(rules.IncidentState(row["state"]))
    if row["lat"] is None:
        raise Conflict(f"incident {incident_id} has no position", reason="no_position")
    source = "live"
    if tracker is None:
        tracker = await UnitTracker.load(conn, _now(now), p.scope)
        source = "database"
    got = tracker.propose(row["lat"], row["lon"], k=k, max_m=max_m, scope=p.scope)
    return {
        "incident_id": incident_id,
        "source": source,
        "proposed": [asdict(c) for c in got.proposed],
        "skipped": [asdict(c) for c in got.skipped],
    }


# ------------------------------------------------------------------------- dispatch ------
async def _officer_ready(conn: AConn, p: Principal, staff_id: str, now: datetime) -> dict[str, Any]:
    o = await repo.officer(conn, staff_id, now)
    if o is None or o["org_unit_id"] not in p.scope:
        raise NotFound(f"staff {staff_id} not found")
    if o["terminal_id"] is None:
        raise Conflict(f"{staff_id} holds no mobile terminal", reason="no_terminal")
    if o["presence"] != "online":
        raise Conflict(f"{staff_id}'s terminal is {o['presence']}", reason="offline")
    if not o["on_shift"]:
        raise Conflict(f"{staff_id} is not on shift now", reason="off_shift")
    return o


async def _vehicle_ready(conn: AConn, p: Principal, vehicle_id: str) -> dict[str, Any]:
    v = await repo.vehicle(conn, vehicle_id)
    if v is None or v["org_unit_id"] not in p.scope:
        raise NotFound(f"vehicle {vehicle_id} not found")
    if v["status"] != "assigned":
        raise Conflict(f"vehicle {vehicle_id} is {v['status']}", reason="not_in_service")
    if v["presence"] != "online" or v["lat"] is None:
        raise Conflict(f"vehicle {vehicle_id}'s tracker is {v['presence']}", reason="offline")
    return v


async def _crew(
    conn: AConn, p: Principal, v: dict[str, Any], tracker: UnitTracker | None, now: datetime
) -> str:
    """The available officer with the vehicle, in the caller's reach: its driver."""
    units = tracker or await UnitTracker.load(conn, now, p.scope)
    staff_id = units.crew(v["lat"], v["lon"], scope=p.scope)
    if staff_id is None:
        raise Conflict(
            f"no available officer is with vehicle {v['vehicle_id']}: say who drives it",
            reason="no_crew",
        )
    return staff_id


async def dispatch(
    conn: AConn,
    p: Principal,
    incident_id: int,
    body: dict[str, Any],
    *,
    publisher: Publisher,
    tracker: UnitTracker | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Order a unit to the incident: record it, then send ``dispatch`` to the terminal of the
    officer (for a vehicle: of its crew, given as ``staff_id`` or the officer with it).

    ``Conflict`` with a ``reason`` (off_shift, offline, busy, no_terminal, no_crew...) when the
    unit cannot take it; ``Unavailable`` when the broker did not take the command (the order is
    then recorded as failed)."""
    p.require(Action.DISPATCH)
    now = _now(now)
    kind, unit_id = body["unit_kind"], body["unit_id"]
    async with conn.transaction():
        inc = await _incident(conn, p, incident_id, lock=True)
        rules.may_dispatch(rules.IncidentState(inc["state"]))
        vehicle_id: str | None = None
        if kind == VEHICLE:
            v = await _vehicle_ready(conn, p, unit_id)
            staff_id = body.get("staff_id")
            if staff_id is None:
                staff_id = await _crew(conn, p, v, tracker, now)
            vehicle_id, pos = unit_id, (v["lat"], v["lon"])
        else:
            staff_id = unit_id
        officer = await _officer_ready(conn, p, staff_id, now)
        if kind == OFFICER:
            pos = (officer["lat"], officer["lon"])
        busy = await repo.busy_order(conn, staff_id, vehicle_id)
        if busy is not None:
            raise Conflict(f"{unit_id} is already on order {busy}", reason="busy", order_id=busy)
        args = DispatchArgs(
            incident_id=str(incident_id),
            lat=inc["lat"] if inc["lat"] is not None else pos[0],
            lon=inc["lon"] if inc["lon"] is not None else pos[1],
            address=inc["address"],
            priority=inc["priority"],
            note=body.get("note"),
        ).model_dump(mode="json", exclude_none=True)
        cmd_id = f"dispatch-{uuid.uuid4().hex[:12]}"
        terminal = officer["terminal_id"]
        await repo.insert_command(conn, cmd_id, terminal, cmd="dispatch", args=args, at=now)
        distance = (
            haversine_m(pos[0], pos[1], args["lat"], args["lon"]) if pos[0] is not None else None
        )
        order_id = await repo.insert_order(
            conn,
            {
                "incident_id": incident_id,
                "org_unit_id": inc["org_unit_id"],
                "unit_kind": kind,
                "unit_id": unit_id,
                "staff_id": staff_id,
                "vehicle_id": vehicle_id,
                "terminal_id": terminal,
                "cmd_id": cmd_id,
                "distance_m": distance,
                "dispatched_by": p.username,
                "note": body.get("note"),
                "sent_at": now,
            },
        )
        changes: dict[str, Any] = {"state": rules.IncidentState.DISPATCHED.value}
        if inc["first_dispatched_at"] is None:
            changes["first_dispatched_at"] = now
        await repo.update_incident(conn, incident_id, changes)
        await repo.add_event(
            conn,
            incident_id,
            p.username,
            "dispatched",
            now,
            order_id=order_id,
            detail={
                "unit_kind": kind,
                "unit_id": unit_id,
                "staff_id": staff_id,
                "terminal_id": terminal,
                "cmd_id": cmd_id,
            },
        )
        row = await repo.order(conn, order_id)
        assert row is not None
        await audit.record(
            conn,
            p.username,
            "dispatch.send",
            "dispatch_order",
            str(order_id),
            org_unit_id=inc["org_unit_id"],
            after=audit.jsonable(row),
        )
    command = Command(v=1, cmd_id=cmd_id, ts=now, cmd="dispatch", args=args)
    topic = device_topic(DeviceType.MOBILE_TERMINAL, terminal, Channel.CMD)
    try:
        await publisher.publish([(topic, command.model_dump_json().encode())])
    except Exception as exc:  # broker down or refused: say so, and leave no order dangling
        await _not_sent(conn, p, row, f"command not delivered to the broker: {exc}")
        raise Unavailable(
            f"the dispatch command could not be sent ({exc}); order {order_id} failed",
            order_id=order_id,
        ) from exc
    await repo.mark_sent(conn, cmd_id, datetime.now(UTC))
    if tracker is not None:
        tracker.mark_busy(staff_id, vehicle_id, order_id)
    return with_durations(row, now)


async def _not_sent(conn: AConn, p: Principal, order: dict[str, Any], why: str) -> None:
    now = datetime.now(UTC)
    async with conn.transaction():
        await _apply(conn, order["id"], rules.Fail(now, why), actor=p.username)
        await repo.mark_command_failed(conn, order["cmd_id"], now, why)


async def _apply(
    conn: AConn, order_id: int, event: rules.Event, *, actor: str, detail: Any = None
) -> dict[str, Any] | None:
    """Move an order by ``event`` (in the caller's transaction): history, audit, and the
    incident back to open when its last active order failed. The row after, or None when
    the event changed nothing."""
    # Locks go incident first, then its orders, everywhere (cancel and close take them in that
    # order too): the other order could deadlock two transactions.
    first = await repo.order(conn, order_id)
    assert first is not None
    inc = await repo.incident(conn, first["incident_id"], lock=True)
    o = await repo.order(conn, order_id, lock=True)
    assert inc is not None and o is not None
    before = rules.Order.from_row(o)
    after = rules.transition(before, event)
    kind = rules.history_kind(before, after)
    if kind is None:
        return None
    await repo.update_order(conn, order_id, after.changes())
    await repo.add_event(
        conn, o["incident_id"], actor, kind, event.at, order_id=order_id, detail=detail
    )
    row = await repo.order(conn, order_id)
    assert row is not None
    await audit.record(
        conn,
        actor,
        f"dispatch.{kind.removeprefix('order_')}",
        "dispatch_order",
        str(order_id),
        org_unit_id=o["org_unit_id"],
        before=audit.jsonable(o),
        after=audit.jsonable(row),
    )
    if after.state is rules.OrderState.FAILED:
        # The incident is locked above and this transaction has not changed it since.
        left = len(await repo.active_orders(conn, o["incident_id"]))
        state = rules.after_order_ended(rules.IncidentState(inc["state"]), left)
        if state.value != inc["state"]:
            await repo.update_incident(conn, o["incident_id"], {"state": state.value})
            await repo.add_event(conn, o["incident_id"], actor, "reopened", event.at)
    return row


async def close_order(
    conn: AConn,
    p: Principal,
    order_id: int,
    outcome: str,
    *,
    resolve_incident: bool = True,
    tracker: UnitTracker | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Close an order with its outcome; with ``resolve_incident`` the incident closes too
    once no other order is working on it."""
    p.require(Action.DISPATCH)
    now = _now(now)
    async with conn.transaction():
        # Not locked here: _apply takes the incident's lock, then the order's.
        o = p.visible(await repo.order(conn, order_id), f"order {order_id}")
        row = await _apply(
            conn, order_id, rules.Close(now, outcome), actor=p.username, detail={"outcome": outcome}
        )
        assert row is not None  # Close either changes the order or raises
        inc = await repo.incident(conn, o["incident_id"], lock=True)
        assert inc is not None
        left = await repo.active_orders(conn, o["incident_id"])
        if resolve_incident and not left and inc["state"] in rules.LIVE_INCIDENT:
            await repo.update_incident(
                conn,
                inc["id"],
                {"state": rules.IncidentState.CLOSED.value, "closed_at": now, "outcome": outcome},
            )
            await repo.add_event(
                conn,
                inc["id"],
                p.username,
                "closed",
                now,
                detail={"outcome": outcome, "order_id": order_id},
            )
            await audit.record(
                conn,
                p.username,
                "incident.close",
                "incident",
                str(inc["id"]),
                org_unit_id=inc["org_unit_id"],
                before=audit.jsonable(inc),
            )
    if tracker is not None:
        tracker.mark_free(o["staff_id"], o["vehicle_id"])
    return with_durations(row, now)


def _own_orders_only(p: Principal) -> bool:
    """False for a dispatcher (every order in reach); True for an officer (their own only)."""
    try:
        p.require(Action.DISPATCH)
    except Forbidden:
        p.require(Action.READ_OWN_ORDERS)
        return True
    return False


async def orders(
    conn: AConn,
    p: Principal,
    *,
    incident_id: int | None,
    state: str | None,
    limit: int,
    offset: int,
    now: datetime | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Orders with their timings: a dispatcher's within reach, an officer's own."""
    own = _own_orders_only(p)
    if own and p.staff_id is None:
        return 0, []
    staff_id = p.staff_id if own else None
    total, rows = await repo.orders(
        conn,
        p.scope,
        incident_id=incident_id,
        staff_id=staff_id,
        state=state,
        limit=limit,
        offset=offset,
    )
    now = _now(now)
    return total, [with_durations(r, now) for r in rows]


async def order(conn: AConn, p: Principal, order_id: int) -> dict[str, Any]:
    row = await repo.order(conn, order_id)
    if _own_orders_only(p) and row is not None and row["staff_id"] != p.staff_id:
        row = None  # not theirs: as if it did not exist
    return with_durations(p.visible(row, f"order {order_id}"), datetime.now(UTC))


# ---------------------------------------------------------------------------- sweep ------
async def sweep(
    conn: AConn, now: datetime, *, ack_timeout: timedelta, radius_m: float
) -> dict[str, list[dict[str, Any]]]:
    """Escalate orders unacknowledged past ``ack_timeout``; mark arrived those whose unit's
    latest fix (taken after the order was sent) is within ``radius_m`` of the incident.
    Returns the orders changed, by what happened; nothing when another hub holds the lock."""
    done: dict[str, list[dict[str, Any]]] = {"escalated": [], "arrived": []}
    async with conn.transaction():
        if not await repo.try_sweep_lock(conn):
            return done
        for o in await repo.due_orders(conn):
            near = _nearest_fix(o) if o["incident_lat"] is not None else None
            if near is not None and rules.arrived_by_position(near, radius_m):
                row = await _apply(
                    conn,
                    o["id"],
                    rules.Arrive(now, "position"),
                    actor=HUB,
                    detail={"distance_m": round(near, 1)},
                )
                if row is not None:
                    done["arrived"].append(row)
                    continue
            if rules.due_for_escalation(rules.Order.from_row(o), now, ack_timeout):
                row = await _apply(
                    conn,
                    o["id"],
                    rules.Escalate(now),
                    actor=HUB,
                    detail={"after_s": (now - o["sent_at"]).total_seconds()},
                )
                if row is not None:
                    done["escalated"].append({**row, "priority": o["priority"]})
    return done


def _nearest_fix(o: dict[str, Any]) -> float | None:
    best: float | None = None
    for who in ("terminal", "tracker"):
        lat, lon, at = o[f"{who}_lat"], o[f"{who}_lon"], o[f"{who}_fix_at"]
        if lat is None or at is None or at < o["sent_at"]:
            continue  # a fix from before the order says nothing about arriving
        d = haversine_m(lat, lon, o["incident_lat"], o["incident_lon"])
        best = d if best is None else min(best, d)
    return best
