"""A retired or lost device acting through the hub worker (issue 12 security review): the
worker subscribes to the broker directly, not through the gateway, so an SOS from a retired
camera that got past the broker (its disable still queued) opened a priority-1 incident, and a
retired terminal's sign-ins and command results were applied. The worker refuses every event of
a device whose ``retired_at`` is set, or that is not in the registry, logs why and applies
nothing. Through the real hub worker on real Mosquitto and TimescaleDB."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from tests.helpers import msg, query, wait_until
from tests.hub.conftest import start_hub_worker
from tests.security._hub import hub_client

__all__ = ["hub_client", "start_hub_worker"]
pytestmark = pytest.mark.integration


def test_an_sos_sign_in_or_cmd_result_from_a_retired_or_unknown_device_is_refused_not_applied(
    hub_client: Callable[..., Any],
    db_url: str,
    publisher: Any,
    start_hub_worker: Callable[[str], Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub_client()  # seeds the city (staff sa1, team-a)
    retired = datetime.now(UTC) - timedelta(hours=1)
    with psycopg.connect(db_url) as conn:
        conn.cursor().executemany(
            "INSERT INTO devices (device_id, device_type, org_unit_id, retired_at)"
            " VALUES (%s, %s, 'team-a', %s)",
            [
                ("cam-r1", "body_camera", retired),
                ("term-r1", "mobile_terminal", retired),
                ("cam-live", "body_camera", None),
            ],
        )
        # sa1 still holds both (custody not closed), so only the retirement refuses them.
        conn.cursor().executemany(
            "INSERT INTO custody (device_id, staff_id, checked_out_at, out_by)"
            " VALUES (%s, 'sa1', %s, 'a-equipment_manager')",
            [("cam-r1", retired - timedelta(days=1)), ("term-r1", retired - timedelta(days=1))],
        )
        conn.execute(
            "INSERT INTO device_commands (cmd_id, device_id, cmd, args, created_at, status)"
            " VALUES ('c-r1', 'term-r1', 'ping', '{}', %s, 'sent')",
            (retired - timedelta(hours=2),),
        )
    caplog.set_level(logging.WARNING, logger="hub.worker")
    worker = start_hub_worker(db_url)
    fix = {"lat": 22.5431, "lon": 114.0822}
    publisher.publish("ehub/v1/body_camera/cam-r1/event", msg(1, event="sos", **fix))
    publisher.publish(
        "ehub/v1/mobile_terminal/term-r1/event",
        msg(1, event="sign_in", officer_id="sa1", **fix),
    )
    publisher.publish(
        "ehub/v1/mobile_terminal/term-r1/cmd_result", msg(2, cmd_id="c-r1", status="done")
    )
    publisher.publish("ehub/v1/body_camera/cam-ghost/event", msg(1, event="sos", **fix))
    # The control: a camera in service opens its incident through the same worker.
    publisher.publish("ehub/v1/body_camera/cam-live/event", msg(1, event="sos", **fix))
    wait_until(lambda: worker.refused >= 4 and worker.handled >= 1, timeout=30)
    assert (worker.refused, worker.handled) == (4, 1)
    assert query(db_url, "SELECT device_id, priority, source FROM incidents") == [
        ("cam-live", 1, "sos")
    ]
    assert query(db_url, "SELECT count(*) FROM attendance_events") == [(0,)]
    assert query(db_url, "SELECT status FROM device_commands WHERE cmd_id = 'c-r1'") == [("sent",)]
    why = [r.getMessage() for r in caplog.records if r.name == "hub.worker"]
    assert sum("device cam-r1: retired or lost since" in m for m in why) == 1
    assert sum("device term-r1: retired or lost since" in m for m in why) == 2
    assert sum("device cam-ghost: not in the device registry" in m for m in why) == 1
