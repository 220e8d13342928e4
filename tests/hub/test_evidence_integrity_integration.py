"""A flagged body-cam file through the real worker (Mosquitto → hub worker → TimescaleDB):
an alert of its own kind, and the mark on every case holding the file, before or after."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.services.cases.evidence import evidence_flags
from hub.settings import HubSettings
from tests.factories.evidence import add_user, evidence_item, seed_case, sha
from tests.factories.hub import bearer, seed_city
from tests.helpers import msg, query, register, wait_until

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
TOPIC = "ehub/v1/camera_dock/dock-a1/event"
X, Y, Z = sha("as offloaded"), sha("as stored now"), sha("as the camera hashed it")


def manifest(file_id: str, **over: Any) -> dict[str, Any]:
    return {
        "event": "evidence_manifest",
        "camera_id": "cam-a1",
        "file_id": file_id,
        "officer_id": "sa1",
        "started_at": T0.isoformat(),
        "ended_at": (T0 + timedelta(minutes=4)).isoformat(),
        "size_bytes": 52_428_800,
        "media_type": "video/mp4",
        "sha256": X,
        "registered_sha256": X,
        "integrity": "ok",
        "storage_uri": f"file:///srv/evidence/cam-a1/{file_id}",
        **over,
    }


@pytest.fixture()
def api(db_url: str, tmp_path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    s = HubSettings(
        database_url=db_url,
        hub_jwt_secret="s" * 32,
        hub_id_hash_key="k" * 40,
        hub_media_dir=str(tmp_path / "media"),
    )
    with TestClient(create_app(s)) as client:
        seed_city(db_url)
        add_user(db_url, "b-officer", "officer", "team-b", "sb1")
        yield client


def alerts(db_url: str) -> list[tuple[Any, ...]]:
    return query(
        db_url,
        "SELECT kind, subject, org_unit_id, severity, state, occurrences, detail FROM alerts"
        " ORDER BY id",
    )


def flags(db_url: str, case_id: str) -> list[tuple[str, str, int]]:
    async def read() -> list[tuple[str, str, int]]:
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            return [
                (f.evidence_id, f.integrity, f.evidence_file_id)
                for f in await evidence_flags(conn, case_id)
            ]

    return asyncio.run(read())


def test_a_flagged_manifest_raises_an_alert_and_marks_every_case_holding_the_file(
    api, db_url, publisher, start_hub_worker
):
    register(db_url, ("dock-a1", "camera_dock"))
    seed_case(db_url, "A-1", act_date=date(2026, 11, 26))
    seed_case(db_url, "A-2", act_date=date(2026, 11, 26))
    seed_case(db_url, "A-3", act_date=date(2026, 11, 26))
    start_hub_worker(db_url)

    # The first offload is fine, and the file goes onto case A-1 as a body-cam item.
    publisher.publish(TOPIC, msg(1, T0, **manifest("f1.mp4")))
    publisher.publish(TOPIC, msg(2, T0, **manifest("other.mp4", sha256=Z, registered_sha256=Z)))
    wait_until(lambda: query(db_url, "SELECT count(*) FROM evidence_files")[0][0] == 2)
    first = query(db_url, "SELECT id FROM evidence_files WHERE seq = 1")[0][0]
    evidence_item(db_url, "A-1", "ev-a1", X, source_kind="bodycam", source_ref=str(first))
    evidence_item(db_url, "A-3", "ev-a3", Z, source_kind="bodycam")  # another, sound file
    assert alerts(db_url) == []
    assert flags(db_url, "A-1") == []

    # Offloaded again, its stored copy no longer hashes the same: flagged.
    bad = manifest("f1.mp4", registered_sha256=Y, integrity="hash_changed")
    publisher.publish(TOPIC, msg(3, T0 + timedelta(hours=1), **bad))
    publisher.publish(TOPIC, msg(3, T0 + timedelta(hours=1), **bad))  # redelivered
    wait_until(lambda: alerts(db_url))
    wait_until(lambda: query(db_url, "SELECT count(*) FROM evidence_files")[0][0] == 3)
    [(kind, subject, unit, severity, state, occurrences, detail)] = alerts(db_url)
    assert (kind, subject, unit, severity, state) == (
        "evidence_integrity",
        "evidence:cam-a1/f1.mp4",
        "team-a",  # the camera's unit sees it
        "critical",
        "active",
    )
    assert occurrences == 1  # the redelivery did not count twice
    assert "hash_changed" in detail and Y in detail and "A-1" in detail
    third = query(db_url, "SELECT id FROM evidence_files WHERE seq = 3")[0][0]
    assert flags(db_url, "A-1") == [("ev-a1", "hash_changed", third)]
    assert flags(db_url, "A-3") == []
    [(actor, entity)] = query(
        db_url, "SELECT actor, entity FROM audit_log WHERE action = 'alert.open'"
    )
    assert (actor, entity) == ("ehub-evidence", "alert")

    # Added to another case after the flag (uploaded on its own, same bytes): marked too.
    assert flags(db_url, "A-2") == []
    evidence_item(db_url, "A-2", "ev-a2", X, source_kind="upload", source_ref="up-1")
    assert flags(db_url, "A-2") == [("ev-a2", "hash_changed", third)]

    # The camera's hash disagrees on a later manifest of the same file: the same alert.
    worse = manifest("f1.mp4", camera_sha256=Z, integrity="camera_hash_mismatch")
    publisher.publish(TOPIC, msg(4, T0 + timedelta(hours=2), **worse))
    wait_until(lambda: alerts(db_url)[0][5] == 2)
    [(_, _, _, _, _, _, detail)] = alerts(db_url)
    assert "camera_hash_mismatch" in detail and "A-1" in detail and "A-2" in detail
    assert len(flags(db_url, "A-1")) == 2  # one mark per flagged manifest of the file

    # The case page's read: who may see the marks.
    client = api
    url = "/api/v1/cases/A-2/evidence/flags"
    r = client.get(url, headers=bearer(client, "a-officer"))
    assert r.status_code == 200
    assert [(f["evidence_id"], f["integrity"]) for f in r.json()] == [
        ("ev-a2", "hash_changed"),
        ("ev-a2", "camera_hash_mismatch"),
    ]
    assert client.get(url, headers=bearer(client, "a-legal_reviewer")).status_code == 200
    assert client.get(url, headers=bearer(client, "fd-equipment_manager")).status_code == 403
    assert client.get(url, headers=bearer(client, "b-officer")).status_code == 404

    # The alert is in the alert list of the camera's team, not of another team. (The list's
    # ``kind`` filter takes device kinds only, so this reads the whole list.)
    def listed(user: str) -> list[tuple[str, str]]:
        r = client.get("/api/v1/alerts", headers=bearer(client, user))
        assert r.status_code == 200, r.text
        return [(a["kind"], a["subject"]) for a in r.json()["items"]]

    assert listed("a-supervisor") == [("evidence_integrity", "evidence:cam-a1/f1.mp4")]
    assert listed("b-equipment_manager") == []
