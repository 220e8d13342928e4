"""The live index (hub/live): pure behaviour of the index and the SSE fan-out, then change
detection against real TimescaleDB (including a transaction that commits after a refresh began),
and the live stream through a real uvicorn with the background loops running."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest

from hub.live.feed import RESYNC, LiveFeed
from hub.live.index import COLUMNS, LiveIndex
from hub.live.model import Gone, LiveDevice
from hub.settings import HubSettings
from tests.factories.hub import PASSWORD, seed_city
from tests.factories.telemetry import Telemetry
from tests.helpers import RunningHub

SEEN = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def dev(device_id: str, unit: str = "team-a", **kw: Any) -> LiveDevice:
    base: dict[str, Any] = {
        "device_id": device_id,
        "device_type": "body_camera",
        "org_unit_id": unit,
        "status": "in_stock",
        "presence": "online",
        "last_seen": SEEN,
        "battery_pct": 50.0,
        "lat": 22.5,
        "lon": 114.0,
        "speed_kmh": None,
        "heading_deg": None,
        "position_time": SEEN,
        "last_event": None,
        "holder_staff_id": None,
        "vehicle_id": None,
    }
    return LiveDevice(**(base | kw))


def rows(doc: bytes) -> dict[str, dict[str, Any]]:
    d = json.loads(doc)
    assert d["columns"] == list(COLUMNS)
    assert d["count"] == len(d["rows"])
    return {r[0]: dict(zip(COLUMNS, r, strict=True)) for r in d["rows"]}


# ------------------------------------------------------------------------- pure ------
def test_index_scopes_filters_and_moves() -> None:
    ix = LiveIndex()
    changed, gone = ix.apply([dev("cam-1"), dev("cam-2", "team-b"), dev("trk-1", device_type="x")])
    assert len(changed) == 3 and len(ix) == 3 and gone == []
    assert set(rows(ix.document({"team-a"}))) == {"cam-1", "trk-1"}
    assert set(rows(ix.document({"team-a", "team-b"}, device_type="body_camera"))) == {
        "cam-1",
        "cam-2",
    }
    assert rows(ix.document({"nowhere"})) == {}
    # The same state again changes nothing; a new one is re-encoded.
    assert ix.apply([dev("cam-1")]) == ([], [])
    ix.apply([dev("cam-1", presence="offline", battery_pct=12.345678)])
    assert rows(ix.document({"team-a"}, presence="offline"))["cam-1"]["battery_pct"] == 12.3
    # Transferred to team B: gone from A, there in B (and the joined chunks were rebuilt).
    assert ix.apply([dev("cam-1", "team-b")])[1] == [Gone("cam-1", "team-a", moved=True)]
    assert set(rows(ix.document({"team-a"}))) == {"trk-1"}
    assert set(rows(ix.document({"team-b"}))) == {"cam-1", "cam-2"}
    # A full reload drops what is no longer there.
    _, gone = ix.replace_all([dev("cam-2", "team-b")])
    assert sorted(g.device_id for g in gone) == ["cam-1", "trk-1"]
    assert not any(g.moved for g in gone)
    assert set(rows(ix.document({"team-a", "team-b"}))) == {"cam-2"}
    assert ix.get("cam-1") is None and ix.get("cam-2") is not None


def test_rows_are_valid_json_whatever_the_text() -> None:
    ix = LiveIndex()
    ix.apply([dev("cam-1", last_event='say "hi"\n\\ 你好', lat=22.123456789)])
    r = rows(ix.document({"team-a"}))["cam-1"]
    assert r["last_event"] == 'say "hi"\n\\ 你好'
    assert r["lat"] == 22.123457 and r["last_seen"] == int(SEEN.timestamp())


def test_feed_encodes_once_per_scope_and_resyncs_a_slow_reader() -> None:
    ix = LiveIndex()
    feed = LiveFeed(ix, queue_size=3)
    ix.subscribe(feed)
    a1, a2 = feed.subscribe(frozenset({"team-a"})), feed.subscribe(frozenset({"team-a"}))
    b = feed.subscribe(frozenset({"team-b"}))
    cams = feed.subscribe(frozenset({"team-a", "team-b"}), "vehicle_tracker")
    ix._notify(*ix.apply([dev("cam-1"), dev("cam-2", "team-b")]))
    assert feed.frames_built == 2  # one for team A's two readers, one for B; none for trackers
    frame = a1.queue.get_nowait()
    assert frame == a2.queue.get_nowait()
    assert frame.startswith(b"event: update\ndata: ")
    assert [r[0] for r in json.loads(frame.split(b"data: ", 1)[1])["rows"]] == ["cam-1"]
    assert b.queue.qsize() == 1 and cams.queue.empty()
    # a2 stops reading: after its queue fills it gets one resync and nothing more.
    for i in range(6):
        ix._notify(*ix.apply([dev("cam-1", battery_pct=float(i))]))
        assert a1.queue.get_nowait().startswith(b"event: update")
    assert a2.overflowed and not a1.overflowed
    queued = [a2.queue.get_nowait() for _ in range(a2.queue.qsize())]
    assert queued[-1] == RESYNC and RESYNC not in queued[:-1]
    feed.unsubscribe(a1)
    assert feed.subscribers == 3


def test_held_devices_lose_their_position_for_roles_that_may_not_read_tracks() -> None:
    ix = LiveIndex()
    ix.apply([dev("cam-1", holder_staff_id="sa1", speed_kmh=4.0), dev("cam-2")])
    full, redacted = rows(ix.document({"team-a"})), rows(ix.document({"team-a"}, redact=True))
    assert (full["cam-1"]["lat"], full["cam-1"]["speed_kmh"]) == (22.5, 4.0)
    assert [redacted["cam-1"][c] for c in ("lat", "lon", "speed_kmh", "heading_deg")] == [None] * 4
    assert redacted["cam-1"]["battery_pct"] == 50.0  # the rest stays
    assert redacted["cam-2"]["lat"] == 22.5  # not held by anyone: where it lies is inventory
    feed = LiveFeed(ix)
    ix.subscribe(feed)
    sub = feed.subscribe(frozenset({"team-a"}), redact=True)
    ix._notify(*ix.apply([dev("cam-1", holder_staff_id="sa1", lat=22.6)]))
    frame = sub.queue.get_nowait()
    assert json.loads(frame.split(b"data: ", 1)[1])["rows"][0][5] is None


def test_devices_leaving_a_reach_are_removed_from_its_streams() -> None:
    ix = LiveIndex()
    feed = LiveFeed(ix)
    ix.subscribe(feed)
    ix.apply([dev("cam-1"), dev("cam-2")])
    a = feed.subscribe(frozenset({"team-a"}))
    both = feed.subscribe(frozenset({"team-a", "team-b"}))
    ix._notify(*ix.apply([dev("cam-1", "team-b")]))  # transferred
    frames_a = a.queue.get_nowait().decode()
    assert "event: update" not in frames_a
    assert 'event: remove\ndata: {"ids": ["cam-1"]}' in frames_a
    frames_both = both.queue.get_nowait().decode()  # still in reach: an update, no remove
    assert "event: update" in frames_both and "event: remove" not in frames_both
    ix._notify([], ix.remove(["cam-2"]))  # out of every unit
    assert '"ids": ["cam-2"]' in a.queue.get_nowait().decode()
    assert ix.get("cam-2") is None


# -------------------------------------------------------------------- database ------
async def _index_over(db_url: str) -> tuple[LiveIndex, psycopg.AsyncConnection[Any]]:
    conn = await psycopg.AsyncConnection.connect(db_url, autocommit=True)
    ix = LiveIndex()
    await ix.refresh(conn)
    return ix, conn


@pytest.mark.integration
def test_incremental_refresh_sees_every_kind_of_change(db_url: str) -> None:
    seed_city(db_url)
    heard: list[str] = []

    async def run() -> None:
        ix, conn = await _index_over(db_url)
        ix.subscribe(lambda changed, gone=(): heard.extend(d.device_id for d in changed))
        assert len(ix) == 5 and ix.get("cam-a1") is not None
        assert await ix.refresh(conn) == 0  # nothing changed, nothing re-read as a change
        with psycopg.connect(db_url, autocommit=True) as c:
            tm = Telemetry(c)
            tm.latest("cam-a1", "body_camera", last_seen=SEEN, lat=22.6, lon=114.1)
            tm.custody("cam-a2", "sa1", SEEN)
            c.execute("UPDATE devices SET org_unit_id = 'team-b' WHERE device_id = 'prn-a1'")
            c.execute(
                "INSERT INTO devices (device_id, device_type, org_unit_id)"
                " VALUES ('trk-a1', 'vehicle_tracker', 'team-a')"
            )
            c.execute(
                "INSERT INTO vehicles (vehicle_id, plate, org_unit_id, tracker_id)"
                " VALUES ('veh-a1', '粤B·12345', 'team-a', 'trk-a1')"
            )
        assert await ix.refresh(conn) == 4
        assert sorted(heard) == ["cam-a1", "cam-a2", "prn-a1", "trk-a1"]
        cam, held = ix.get("cam-a1"), ix.get("cam-a2")
        assert cam is not None and (cam.lat, cam.lon, cam.presence) == (22.6, 114.1, "unknown")
        assert held is not None and held.holder_staff_id == "sa1"
        moved, trk = ix.get("prn-a1"), ix.get("trk-a1")
        assert moved is not None and moved.org_unit_id == "team-b"
        assert trk is not None and trk.vehicle_id == "veh-a1"
        assert set(rows(ix.document({"team-a"}))) == {"cam-a1", "cam-a2", "trk-a1"}
        # Checked back in: the holder goes.
        with psycopg.connect(db_url, autocommit=True) as c:
            c.execute("UPDATE custody SET checked_in_at = now() WHERE device_id = 'cam-a2'")
        assert await ix.refresh(conn) == 1
        back = ix.get("cam-a2")
        assert back is not None and back.holder_staff_id is None
        await conn.close()

    asyncio.run(run())


@pytest.mark.integration
def test_a_transaction_committing_after_a_refresh_is_not_missed(db_url: str) -> None:
    """The gateway's batch may commit long after it began (a database outage): a watermark on
    times would skip it; the snapshot's in-progress list does not."""
    seed_city(db_url)

    async def run() -> None:
        ix, conn = await _index_over(db_url)
        with psycopg.connect(db_url) as slow:
            Telemetry(slow).latest("cam-a1", "body_camera", last_seen=SEEN, battery_pct=11)
            # Still uncommitted: a refresh now cannot see it, but notes it was running.
            await ix.refresh(conn)
            cam = ix.get("cam-a1")
            assert cam is not None and cam.battery_pct is None
            # Later commits by others move the snapshot on past the slow transaction.
            with psycopg.connect(db_url, autocommit=True) as c:
                Telemetry(c).latest("cam-b1", "body_camera", last_seen=SEEN, battery_pct=70)
            await ix.refresh(conn)
            slow.commit()
        await ix.refresh(conn)
        cam = ix.get("cam-a1")
        assert cam is not None and cam.battery_pct == 11
        await conn.close()

    asyncio.run(run())


@pytest.mark.integration
def test_a_change_made_in_a_savepoint_is_not_missed(db_url: str) -> None:
    """Services nest transactions: a row written in a savepoint carries a subtransaction's id
    as its xmin, which a snapshot does not list as running."""
    seed_city(db_url)

    async def run() -> None:
        ix, conn = await _index_over(db_url)
        with psycopg.connect(db_url) as slow:
            slow.execute("SELECT 1")  # the outer transaction is open: what follows nests
            with slow.transaction():  # a savepoint inside the outer transaction
                slow.execute("UPDATE devices SET status = 'in_repair' WHERE device_id = 'cam-a1'")
            assert slow.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
            await ix.refresh(conn)  # sees nothing yet; the outer transaction is running
            with psycopg.connect(db_url, autocommit=True) as c:
                Telemetry(c).latest("cam-b1", "body_camera", last_seen=SEEN, battery_pct=70)
            await ix.refresh(conn)
            slow.commit()
        await ix.refresh(conn)
        cam = ix.get("cam-a1")
        assert cam is not None and cam.status == "in_repair"
        await conn.close()

    asyncio.run(run())


@pytest.mark.integration
def test_a_device_taken_out_of_its_unit_leaves_the_index(db_url: str) -> None:
    seed_city(db_url)
    heard: list[Gone] = []

    async def run() -> None:
        ix, conn = await _index_over(db_url)
        ix.subscribe(lambda changed, gone=(): heard.extend(gone))
        with psycopg.connect(db_url, autocommit=True) as c:
            c.execute("UPDATE devices SET org_unit_id = NULL WHERE device_id = 'cam-a2'")
        await ix.refresh(conn)
        assert ix.get("cam-a2") is None
        assert heard == [Gone("cam-a2", "team-a", moved=False)]
        await conn.close()

    asyncio.run(run())


# ---------------------------------------------------------------- live stream ------
@pytest.fixture()
def hub(db_url: str) -> Iterator[RunningHub]:
    seed_city(db_url)
    h = RunningHub(
        HubSettings(
            database_url=db_url,
            hub_jwt_secret="s" * 40,
            hub_id_hash_key="k" * 40,
            hub_live_interval_s=0.1,
            hub_alert_interval_s=3600,
            hub_usage_interval_s=3600,
        )
    )
    yield h
    h.stop()


def _events(lines: Iterator[str]) -> Iterator[tuple[str, Any]]:
    event = None
    for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event is not None:
            yield event, json.loads(line[6:])
            event = None


@pytest.mark.integration
def test_live_stream_pushes_changes_in_reach(hub: RunningHub, db_url: str) -> None:
    with httpx.Client(base_url=hub.url, timeout=30) as c:
        login = {"username": "a-dispatcher", "password": PASSWORD}
        tok = c.post("/api/v1/auth/token", data=login).json()["access_token"]
        h = {"Authorization": f"Bearer {tok}"}
        with c.stream("GET", "/api/v1/live/stream", headers=h) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            events = _events(r.iter_lines())
            kind, snap = next(events)
            assert kind == "snapshot"
            assert {row[0] for row in snap["rows"]} == {"cam-a1", "cam-a2", "prn-a1"}
            t0 = time.monotonic()
            with psycopg.connect(db_url, autocommit=True) as conn:
                tm = Telemetry(conn)
                tm.latest("cam-b1", "body_camera", last_seen=SEEN, lat=22.7, lon=114.2)
                tm.latest("cam-a1", "body_camera", last_seen=SEEN, lat=22.55, lon=114.05)
            kind, upd = next(events)
            took = time.monotonic() - t0
            assert kind == "update"
            # Team B's camera moved too, but is out of this dispatcher's reach.
            assert [(row[0], row[5], row[6]) for row in upd["rows"]] == [("cam-a1", 22.55, 114.05)]
            assert took < 5, took
        # The browser's way in: the session cookie, no header.
        c.cookies.set("ehub_session", tok)
        with c.stream("GET", "/api/v1/live/stream") as r:
            assert r.status_code == 200
            kind, snap = next(_events(r.iter_lines()))
            assert kind == "snapshot" and snap["count"] == 3
        c.cookies.clear()
        assert c.get("/api/v1/live/stream").status_code == 401


def test_requests_within_max_age_read_memory_alone() -> None:
    class NoDatabase:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError("the index went to the database")

    async def run() -> None:
        ix = LiveIndex()
        ix.refreshed_at = time.monotonic()
        await ix.current(NoDatabase(), 1.0)  # type: ignore[arg-type]
        ix.refreshed_at = time.monotonic() - 5
        with pytest.raises(AssertionError, match="went to the database"):
            await ix.current(NoDatabase(), 1.0)  # type: ignore[arg-type]

    asyncio.run(run())
