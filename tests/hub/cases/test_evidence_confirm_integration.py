"""Confirmed body-cam files and uploads become evidence of a real case through the case store
(real database, a case filed through the command API): the item, its event, its origin."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.settings import HubSettings
from tests.factories.evidence import bodycam_file, fixes, hold, sha
from tests.factories.hub import bearer, seed_city
from tests.helpers import query, register
from tests.hub.cases.casefix import seed_cases
from tests.hub.cases.test_case_api import FILING_DOC, clue_body

pytestmark = pytest.mark.integration
PHOTO = os.urandom(20_000)
PHOTO_SHA = hashlib.sha256(PHOTO).hexdigest()


@pytest.fixture()
def api(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    s = HubSettings(
        database_url=db_url,
        hub_jwt_secret="s" * 40,
        hub_id_hash_key="k" * 40,
        hub_media_dir=str(tmp_path / "media"),
    )
    with TestClient(create_app(s)) as client:
        seed_city(db_url)
        seed_cases(db_url)
        yield client


def open_case(client: TestClient, *, filed: bool = True) -> tuple[str, dict]:
    """A case of sa1 and sa3 at (22.54, 114.08), the act yesterday; filed unless asked not."""
    officer = bearer(client, "a-officer")
    body = clue_body()
    r = client.post("/api/v1/cases", json=body, headers=officer)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    if filed:
        for who, path, payload in [
            (officer, "filing", {"officers": ["sa1", "sa3"], "document": FILING_DOC}),
            (bearer(client, "a-supervisor"), "approvals/filing/approve", {}),
            (bearer(client, "fd-supervisor"), "approvals/filing/approve", {}),
        ]:
            r = client.post(f"/api/v1/cases/{cid}/{path}", json=payload, headers=who)
            assert r.status_code == 200, r.text
        assert r.json()["state"] == "filed"
    return cid, body


def recorded_at(body: dict) -> dt.datetime:
    """Noon in Shanghai on the act's day."""
    day = dt.date.fromisoformat(body["act_date"])
    return dt.datetime.combine(day, dt.time(12), dt.timezone(dt.timedelta(hours=8)))


def test_confirming_a_proposal_adds_the_file_as_evidence_once(api, db_url):
    client = api
    cid, body = open_case(client)
    t = recorded_at(body)
    hold(db_url, "cam-a1", "sa1", t - dt.timedelta(days=2), None)
    hold(db_url, "cam-a2", "sa2", t - dt.timedelta(days=2), None)  # sa2 is not on the case
    mine = bodycam_file(db_url, "cam-a1", "scene.mp4", t)
    theirs = bodycam_file(db_url, "cam-a2", "elsewhere.mp4", t)
    fixes(db_url, "cam-a1", t, [(22.5401, 114.0801)])
    h = bearer(client, "a-officer")
    base = f"/api/v1/cases/{cid}/evidence/proposals"

    [p] = client.get(base, headers=h).json()
    assert (p["evidence_file_id"], p["position"], p["officer_id"]) == (mine, "near", "sa1")
    r = client.post(f"{base}/{mine}/confirm", headers=h)
    assert r.status_code == 201, r.text
    evidence_id = r.json()["evidence_id"]
    [row] = query(
        db_url,
        "SELECT evidence_type, sha256, source_kind, source_ref, collected_by, collected_at,"
        " added_by FROM case_evidence WHERE id = %s",
        evidence_id,
    )
    assert row == (
        "audiovisual",
        sha("cam-a1/scene.mp4"),
        "bodycam",
        str(mine),
        ["sa1", "sa3"],
        t,
        "a-officer",
    )
    assert query(
        db_url,
        "SELECT command FROM case_events WHERE case_id = %s AND kind = 'evidence_added'",
        cid,
    ) == [("add_evidence",)]

    # Proposed no more; a second confirmation, or a file no officer of the case held, refused.
    assert client.get(base, headers=h).json() == []
    r = client.post(f"{base}/{mine}/confirm", headers=h)
    assert r.status_code == 409 and "evidence.already_on_case" in r.json()["detail"]
    r = client.post(f"{base}/{theirs}/confirm", headers=h)
    assert r.status_code == 409 and "evidence.bodycam_custody" in r.json()["detail"]
    assert client.post(f"{base}/999999/confirm", headers=h).status_code == 404
    assert query(db_url, "SELECT count(*) FROM case_evidence WHERE case_id = %s", cid) == [(1,)]


def test_an_upload_to_a_case_becomes_its_evidence(api, db_url):
    client = api
    cid, _ = open_case(client)
    h = bearer(client, "a-officer")  # linked to sa1
    taken = dt.datetime(2026, 11, 26, 2, 3, tzinfo=dt.UTC)

    def send(data: bytes, digest: str, media_type: str, **form: str):  # type: ignore[no-untyped-def]
        return client.post(
            "/api/v1/uploads",
            headers=h,
            files={"file": ("x", data, media_type)},
            data={"sha256": digest, "case_id": cid, **form},
        )

    r = send(PHOTO, PHOTO_SHA, "image/jpeg", taken_at=taken.isoformat(), lat="22.54", lon="114.08")
    assert r.status_code == 201, r.text
    up = r.json()
    [row] = query(
        db_url,
        "SELECT evidence_type, sha256, source_kind, source_ref, collected_by, collected_at,"
        " lat, lon FROM case_evidence WHERE id = %s",
        up["evidence_id"],
    )
    assert row == (
        "electronic",
        PHOTO_SHA,
        "upload",
        up["id"],
        ["sa1", "sa3"],
        taken,
        22.54,
        114.08,
    )
    assert query(db_url, "SELECT case_id, evidence_id FROM media_uploads") == [
        (cid, up["evidence_id"])
    ]
    # The terminal's retry: the same upload, no second item.
    again = send(PHOTO, PHOTO_SHA, "image/jpeg")
    assert again.status_code == 200 and again.json()["evidence_id"] == up["evidence_id"]
    assert query(db_url, "SELECT count(*) FROM case_evidence WHERE sha256 = %s", PHOTO_SHA) == [
        (1,)
    ]

    # A video from the terminal sa1 holds: audiovisual, from the terminal.
    register(db_url, ("term-a1", "mobile_terminal"))
    hold(db_url, "term-a1", "sa1", dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), None)
    video = os.urandom(30_000)
    r = send(video, hashlib.sha256(video).hexdigest(), "video/mp4", device_id="term-a1")
    assert r.status_code == 201, r.text
    [(etype, kind, ref)] = query(
        db_url,
        "SELECT evidence_type, source_kind, source_ref FROM case_evidence WHERE id = %s",
        r.json()["evidence_id"],
    )
    assert (etype, kind, ref) == ("audiovisual", "terminal", r.json()["id"])


def test_the_case_rules_refuse_evidence_before_filing_and_nothing_is_recorded(api, db_url):
    client = api
    cid, _ = open_case(client, filed=False)
    r = client.post(
        "/api/v1/uploads",
        headers=bearer(client, "a-officer"),
        files={"file": ("x.jpg", PHOTO, "image/jpeg")},
        data={"sha256": PHOTO_SHA, "case_id": cid},
    )
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json().get("rule"), r.json()  # the case rule that refused, by name
    assert query(db_url, "SELECT count(*) FROM media_uploads") == [(0,)]
    assert query(db_url, "SELECT count(*) FROM case_evidence") == [(0,)]
