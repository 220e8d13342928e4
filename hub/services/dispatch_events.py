"""What the device-event worker does for dispatch: a terminal's answer to a ``dispatch``
command moves its order (accepted -> acknowledged, done -> arrived, rejected/failed ->
failed), and an ``sos`` event from a body camera, terminal or tracker opens a priority-1
incident in the device's team.

Both run inside ``device_events.handle``'s transaction (sync psycopg) and are idempotent: a
redelivered result finds the order already moved (the state machine ignores it), and a
redelivered SOS hits the incident's unique (device, seq).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import psycopg

from hub.domain import dispatch as rules
from hub.repositories import audit
from hub.repositories import dispatch as repo
from schemas.messages import CmdResult, CmdStatus, Sos
from schemas.topics import DeviceType

log = logging.getLogger(__name__)

Conn = psycopg.Connection[Any]


def on_cmd_result(conn: Conn, device_id: str, msg: CmdResult, now: datetime) -> bool:
    """Apply a ``cmd_result`` to the dispatch order it answers; False if it answers none.

    Timings use the hub's receive time, like ``sent_at``: a terminal's clock may be off."""
    o = repo.order_by_cmd_sync(conn, msg.cmd_id)
    if o is None or o["terminal_id"] != device_id:
        return False
    event: rules.Event
    if msg.status is CmdStatus.ACCEPTED:
        event = rules.Acknowledge(now)
    elif msg.status is CmdStatus.DONE:
        event = rules.Arrive(now, "terminal")
    else:
        event = rules.Fail(now, f"{msg.status.value}: {msg.detail or 'no reason given'}")
    before = rules.Order.from_row(o)
    after = rules.transition(before, event)
    kind = rules.history_kind(before, after)
    if kind is None:
        return True  # redelivered or overtaken: already applied
    actor = f"device:{device_id}"
    repo.update_order_sync(conn, o["id"], after.changes())
    repo.add_event_sync(
        conn,
        o["incident_id"],
        actor,
        kind,
        now,
        order_id=o["id"],
        detail={"cmd_id": msg.cmd_id, "status": msg.status.value, "detail": msg.detail},
    )
    conn.execute(
        audit.INSERT,
        audit.row(
            actor,
            f"dispatch.{kind.removeprefix('order_')}",
            "dispatch_order",
            str(o["id"]),
            org_unit_id=o["org_unit_id"],
            before=audit.jsonable(o),
            after=audit.jsonable({**o, **after.changes()}),
        ),
    )
    if after.state is rules.OrderState.FAILED:
        state, left = repo.incident_state_sync(conn, o["incident_id"])
        new = rules.after_order_ended(rules.IncidentState(state), left)
        if new.value != state:
            repo.set_incident_state_sync(conn, o["incident_id"], new.value)
            repo.add_event_sync(conn, o["incident_id"], actor, "reopened", now)
    return True


def on_sos(
    conn: Conn, device_type: DeviceType, device_id: str, msg: Sos, now: datetime
) -> int | None:
    """Open a priority-1 incident for an SOS; None when this (device, seq) already did, or
    the device belongs to no team (logged: the raw event is stored by the gateway)."""
    origin = repo.sos_origin_sync(conn, device_id)
    if origin is None or origin["org_unit_id"] is None:
        log.error("SOS from %s (seq %d): the device belongs to no team", device_id, msg.seq)
        return None
    lat, lon = (msg.lat, msg.lon) if msg.lat is not None else (origin["lat"], origin["lon"])
    if lat is None or lon is None:
        lat = lon = None
    officer = msg.officer_id or origin["holder"]
    kind = device_type.value.replace("_", " ")
    actor = f"device:{device_id}"
    incident_id = repo.insert_sos_incident_sync(
        conn,
        {
            "org_unit_id": origin["org_unit_id"],
            "description": f"SOS from {kind} {device_id}"
            + (f" (officer {officer})" if officer else "")
            + ("" if lat is not None else "; no position"),
            "lat": lat,
            "lon": lon,
            "device_id": device_id,
            "seq": msg.seq,
            "officer_id": officer,
            "created_by": actor,
            "reported_at": msg.ts,
        },
    )
    if incident_id is None:
        return None
    repo.add_event_sync(
        conn,
        incident_id,
        actor,
        "created",
        now,
        detail={"source": "sos", "device_type": device_type.value, "seq": msg.seq},
    )
    conn.execute(
        audit.INSERT,
        audit.row(
            actor,
            "incident.create",
            "incident",
            str(incident_id),
            org_unit_id=origin["org_unit_id"],
            before=None,
            after={
                "source": "sos",
                "priority": rules.SOS_PRIORITY,
                "device_id": device_id,
                "seq": msg.seq,
                "lat": lat,
                "lon": lon,
                "officer_id": officer,
            },
        ),
    )
    log.warning("SOS from %s: incident %d opened", device_id, incident_id)
    return incident_id
