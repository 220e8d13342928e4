"""Alert use cases: evaluate every rule for every device, acknowledge and resolve, thresholds.

``evaluate_all`` runs in one transaction: rules, facts and open alerts are read, merged by the
pure ``domain.alerts.reconcile``, and written back in a few set-based statements; it returns
what to tell people, to be delivered (``hub.notify``) after it has committed. People's actions
check the caller's role and reach first and write an audit record for every change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import psycopg

from hub.domain.alerts import (
    DEFAULT_THRESHOLDS,
    REPEATED_FAULTS_WINDOW,
    UNITS,
    AlertKind,
    AlertState,
    AlertUpdate,
    DeviceFacts,
    NewAlert,
    Notification,
    OpenAlert,
    RuleOverride,
    Severity,
    SystemAlertKind,
    check_threshold,
    effective_thresholds,
    evaluate,
    reconcile,
)
from hub.domain.errors import Conflict, Forbidden, Invalid
from hub.domain.principal import Principal
from hub.domain.roles import Action, allowed
from hub.repositories import alerts as repo
from hub.repositories import audit, org
from schemas.topics import DeviceType

AConn = psycopg.AsyncConnection[Any]

SYSTEM_ACTOR = "ehub-alerts"  # the evaluator, in the audit log and nowhere else


async def evaluate_all(conn: AConn, now: datetime) -> list[Notification]:
    """Open, update and auto-resolve alerts for the whole fleet; what to tell people.

    Another hub evaluating at the same moment holds the lock: this call then does nothing.
    """
    async with conn.transaction():
        if not await repo.try_evaluation_lock(conn):
            return []
        overrides = [RuleOverride(**_rule_key(r)) for r in await repo.rules(conn)]
        facts = await repo.facts(conn, now - REPEATED_FAULTS_WINDOW)
        open_alerts = [OpenAlert(**r) for r in await repo.open_alerts(conn)]
        # Pure Python over the whole fleet (about a second for 50,000 devices): in a thread, so
        # the API sharing this event loop keeps answering meanwhile.
        to_open, to_update, to_resolve = await asyncio.to_thread(
            _plan, overrides, facts, open_alerts, now
        )
        opened = await repo.insert_many(conn, to_open)
        await repo.update_many(conn, to_update)
        escalated = await repo.get_many(conn, [u.id for u in to_update if u.escalated])
        resolved = await repo.auto_resolve(conn, [a.id for a in to_resolve], now)
        await repo.audit_many(
            conn,
            [_audit_row("alert.open", r) for r in opened]
            + [_audit_row("alert.escalate", r) for r in escalated]
            + [_audit_row("alert.auto_resolve", r) for r in resolved],
        )
    return (
        [Notification.from_row("opened", r) for r in opened]
        + [Notification.from_row("escalated", r) for r in escalated]
        + [Notification.from_row("resolved", r) for r in resolved]
    )


def _plan(
    overrides: list[RuleOverride],
    facts: list[DeviceFacts],
    open_alerts: list[OpenAlert],
    now: datetime,
) -> tuple[list[NewAlert], list[AlertUpdate], list[OpenAlert]]:
    thresholds = effective_thresholds(overrides)
    conditions = {f.device_id: evaluate(f, thresholds.get(f.device_type, {}), now) for f in facts}
    return reconcile(open_alerts, conditions, now)


def _rule_key(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("device_type", "kind", "threshold", "enabled")}


def _audit_row(action: str, row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "actor": SYSTEM_ACTOR,
        "action": action,
        "entity": "alert",
        "entity_id": str(row["id"]),
        "org_unit_id": row["org_unit_id"],
        "after": audit.jsonable(row),
    }


async def raise_system_alert(
    conn: AConn,
    subject: str,
    kind: SystemAlertKind,
    detail: str,
    *,
    now: datetime,
    severity: Severity = Severity.CRITICAL,
) -> list[Notification]:
    """Open (or, if open, bring up to date) the alert about ``subject``; what to tell people.

    System alerts belong to no device: the device rules leave them alone and a person resolves
    them (``resolve``) once the cause is understood.
    """
    async with conn.transaction():
        before = await repo.open_system_alert(conn, subject, kind.value)
        if before is not None:
            await repo.touch_system_alert(conn, int(before["id"]), detail, now)
            return []  # already told; the alert's detail and count keep up
        row = await repo.insert_system_alert(
            conn, subject, kind.value, severity=severity.value, detail=detail, at=now
        )
        await repo.audit_many(conn, [_audit_row("alert.open", row)])
    return [Notification.from_row("opened", row)]


# ---------------------------------------------------------------------------- people ------
async def alert(conn: AConn, p: Principal, alert_id: int) -> dict[str, Any]:
    p.require(Action.ALERTS)
    return p.visible(await repo.get(conn, alert_id), f"alert {alert_id}")


async def listing(
    conn: AConn, p: Principal, filters: dict[str, Any], limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    p.require(Action.ALERTS)
    return await repo.listing(conn, p.scope, filters=filters, limit=limit, offset=offset)


async def ack(
    conn: AConn, p: Principal, alert_id: int, now: datetime | None = None
) -> dict[str, Any]:
    """Someone is on it: the alert stays open (and updating) until it clears or is resolved."""
    p.require(Action.ALERTS)
    now = now or datetime.now(UTC)
    async with conn.transaction():
        before = p.visible(await repo.get(conn, alert_id, lock=True), f"alert {alert_id}")
        if before["state"] == AlertState.ACKED:
            raise Conflict(
                f"alert {alert_id} was already acknowledged by {before['acked_by']} at "
                f"{before['acked_at'].isoformat(timespec='seconds')}",
                acked_by=before["acked_by"],
            )
        if before["state"] == AlertState.RESOLVED:
            raise Conflict(f"alert {alert_id} is resolved")
        await repo.ack(conn, alert_id, p.username, now)
        after = await repo.get(conn, alert_id)
        assert after is not None
        await audit.record(
            conn,
            p.username,
            "alert.ack",
            "alert",
            str(alert_id),
            org_unit_id=after["org_unit_id"],
            before=audit.jsonable(before),
            after=audit.jsonable(after),
        )
    return after


async def resolve(
    conn: AConn, p: Principal, alert_id: int, note: str | None, now: datetime | None = None
) -> dict[str, Any]:
    """Close it by hand. If the condition still holds, the next evaluation opens a new alert."""
    p.require(Action.ALERTS)
    now = now or datetime.now(UTC)
    async with conn.transaction():
        before = p.visible(await repo.get(conn, alert_id, lock=True), f"alert {alert_id}")
        if before["state"] == AlertState.RESOLVED:
            by = before["resolved_by"] or "itself (the condition cleared)"
            raise Conflict(f"alert {alert_id} was already resolved by {by}")
        await repo.resolve(conn, alert_id, p.username, now, note)
        after = await repo.get(conn, alert_id)
        assert after is not None
        await audit.record(
            conn,
            p.username,
            "alert.resolve",
            "alert",
            str(alert_id),
            org_unit_id=after["org_unit_id"],
            before=audit.jsonable(before),
            after=audit.jsonable(after),
        )
    return after


# ----------------------------------------------------------------------------- rules ------
async def rules(conn: AConn, p: Principal) -> list[dict[str, Any]]:
    """Every (device kind, alert kind): the default, the override if any, what applies."""
    if not (allowed(p.role, Action.ALERTS) or allowed(p.role, Action.MANAGE_DEVICES)):
        raise Forbidden(f"role {p.role.value} may not read alert rules")
    stored = {(r["device_type"], r["kind"]): r for r in await repo.rules(conn)}
    out = []
    for dtype in DeviceType:
        for kind in AlertKind:
            default = DEFAULT_THRESHOLDS[dtype].get(kind)
            row = stored.get((dtype.value, kind.value))
            enabled = row["enabled"] if row else default is not None
            threshold = row["threshold"] if row and row["threshold"] is not None else default
            out.append(
                {
                    "device_type": dtype.value,
                    "kind": kind.value,
                    "unit": UNITS[kind],
                    "default_threshold": default,
                    "threshold": threshold,
                    "enabled": bool(enabled and threshold is not None),
                    "customised": row is not None,
                    "updated_by": row["updated_by"] if row else None,
                    "updated_at": row["updated_at"] if row else None,
                }
            )
    return out


async def set_rules(
    conn: AConn, p: Principal, changes: list[dict[str, Any]], now: datetime | None = None
) -> list[dict[str, Any]]:
    """Change thresholds. They apply citywide, so only a city-level account may change them."""
    p.require(Action.MANAGE_DEVICES)
    now = now or datetime.now(UTC)
    async with conn.transaction():
        unit = await org.unit(conn, p.org_unit_id)
        if unit is None or unit["parent_id"] is not None:
            raise Forbidden("alert thresholds apply citywide: only city-level accounts set them")
        stored = {(r["device_type"], r["kind"]): r for r in await repo.rules(conn)}
        for c in changes:
            dtype, kind = DeviceType(c["device_type"]), AlertKind(c["kind"])
            threshold = c.get("threshold")
            if threshold is not None:
                check_threshold(kind, threshold)
            elif c["enabled"] and kind not in DEFAULT_THRESHOLDS[dtype]:
                raise Invalid(
                    f"{kind.value} has no default for {dtype.value}: give a threshold "
                    f"(in {UNITS[kind]})"
                )
            before = stored.get((dtype.value, kind.value))
            await repo.upsert_rule(
                conn,
                dtype.value,
                kind.value,
                threshold=threshold,
                enabled=c["enabled"],
                by=p.username,
                at=now,
            )
            await audit.record(
                conn,
                p.username,
                "alert_rule.set",
                "alert_rule",
                f"{dtype.value}/{kind.value}",
                before=audit.jsonable(before) if before else None,
                after={"threshold": threshold, "enabled": c["enabled"]},
            )
    return await rules(conn, p)
