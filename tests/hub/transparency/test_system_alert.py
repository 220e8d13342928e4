"""The transparency log's system alert in the alert machinery: listed and resolved through the
API and the web UI by the city's accounts, out of a team's reach, and left alone by the device
rules' evaluation (real TimescaleDB)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.domain.alerts import SystemAlertKind
from hub.services import alerts
from tests.factories.hub import PASSWORD, seed_city
from tests.helpers import query

from .helpers import run, settings

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _raise(db_url: str, detail: str) -> list[Any]:
    return run(
        db_url,
        lambda c: alerts.raise_system_alert(
            c, "transparency-log", SystemAlertKind.TRANSPARENCY_LOG, detail, now=NOW
        ),
    )


def _token(client: TestClient, user: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_a_system_alert_reaches_the_city_and_survives_device_evaluation(db_url: str) -> None:
    with TestClient(create_app(settings(db_url))) as client:
        seed_city(db_url)
        [note] = _raise(db_url, "the tree of size 12 does not extend checkpoint 1 (size 10)")
        assert (note.device_id, note.subject, note.org_unit_id) == (
            None,
            "transparency-log",
            "shenzhen",
        )

        # The device rules' evaluation neither resolves nor touches it.
        async def evaluate() -> None:
            async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as c:
                await alerts.evaluate_all(c, NOW)

        asyncio.run(evaluate())
        assert query(db_url, "SELECT state FROM alerts WHERE device_id IS NULL") == [("active",)]

        city = _token(client, "city-admin")
        r = client.get("/api/v1/alerts?state=open", headers=city)
        assert r.status_code == 200, r.text
        [item] = [a for a in r.json()["items"] if a["device_id"] is None]
        assert item["subject"] == "transparency-log" and item["kind"] == "transparency_log"
        assert item["severity"] == "critical" and "checkpoint 1" in item["detail"]
        team = _token(client, "a-maintenance")
        r = client.get("/api/v1/alerts?state=open", headers=team)
        assert all(a["device_id"] is not None for a in r.json()["items"])
        assert client.get(f"/api/v1/alerts/{item['id']}", headers=team).status_code == 404

        # The web UI's alerts page shows it with its subject, in both languages.
        r = client.post(
            "/login", data={"username": "city-admin", "password": PASSWORD}, follow_redirects=False
        )
        assert r.status_code == 303
        for lang, label in (("en", "Transparency log no longer extends"), ("zh-CN", "透明日志")):
            client.cookies.set("ehub_lang", lang)
            page = client.get("/alerts")
            assert (
                page.status_code == 200 and label in page.text and "transparency-log" in page.text
            )

        r = client.post(
            f"/api/v1/alerts/{item['id']}/resolve",
            json={"resolution": "restored from backup, verified"},
            headers=city,
        )
        assert r.status_code == 200 and r.json()["state"] == "resolved", r.text
        # A new problem opens a new alert.
        assert len(_raise(db_url, "again")) == 1
