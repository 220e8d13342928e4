"""``POST /api/v1/uploads`` against the real database and a real media directory: the hash
checked on arrival, nothing kept on a mismatch, the body limit, retries, roles and reach."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.settings import HubSettings
from tests.factories.evidence import add_user, hold, seed_case
from tests.factories.hub import bearer, seed_city
from tests.helpers import query, register

pytestmark = pytest.mark.integration
PHOTO = os.urandom(40_000)
SHA = hashlib.sha256(PHOTO).hexdigest()
MAX_UPLOAD = 64 * 1024


@pytest.fixture()
def api(db_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    media = tmp_path / "media"
    s = HubSettings(
        database_url=db_url,
        hub_jwt_secret="s" * 32,
        hub_id_hash_key="k" * 40,
        hub_media_dir=str(media),
        hub_max_upload_bytes=MAX_UPLOAD,
    )
    with TestClient(create_app(s)) as client:
        seed_city(db_url)
        add_user(db_url, "li-ming", "officer", "team-a", "sa1")
        add_user(db_url, "b-officer", "officer", "team-b", "sb1")
        yield client, media


def send(client, user, data=PHOTO, sha=SHA, media_type="image/jpeg", **form):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/uploads",
        headers=bearer(client, user),
        files={"file": ("IMG_0001.jpg", data, media_type)},
        data={"sha256": sha, **form},
    )


def stored_files(media: Path) -> list[Path]:
    return sorted(p for p in media.rglob("*") if p.is_file())


def test_an_upload_is_kept_under_its_hash_recorded_and_audited(api, db_url):
    client, media = api
    taken = datetime(2026, 11, 26, 10, 3, tzinfo=UTC)
    r = send(
        client, "li-ming", sha=SHA.upper(), taken_at=taken.isoformat(), lat="22.54", lon="114.05"
    )
    assert r.status_code == 201, r.text
    up = r.json()
    assert (up["sha256"], up["size_bytes"], up["uploaded_by"]) == (SHA, len(PHOTO), "li-ming")
    assert up["case_id"] is None and up["evidence_id"] is None and up["device_id"] is None
    assert [p.name for p in stored_files(media)] == [SHA]
    assert stored_files(media)[0].read_bytes() == PHOTO
    assert up["storage_uri"] == stored_files(media)[0].as_uri()
    [row] = query(
        db_url,
        "SELECT sha256, size_bytes, media_type, file_name, uploaded_by_staff, org_unit_id,"
        " taken_at, lat, lon FROM media_uploads WHERE id = %s",
        up["id"],
    )
    assert row == (
        SHA,
        len(PHOTO),
        "image/jpeg",
        "IMG_0001.jpg",
        "sa1",
        "team-a",
        taken,
        22.54,
        114.05,
    )
    [(after,)] = query(
        db_url,
        "SELECT after FROM audit_log WHERE action = 'media.upload' AND entity_id = %s",
        up["id"],
    )
    assert after["sha256"] == SHA

    # A retry (the answer was lost): the first upload, nothing added.
    again = send(client, "li-ming")
    assert again.status_code == 200 and again.json()["id"] == up["id"]
    assert query(db_url, "SELECT count(*) FROM media_uploads")[0][0] == 1


def test_a_hash_mismatch_is_refused_naming_it_and_nothing_is_kept(api, db_url):
    client, media = api
    claimed = hashlib.sha256(b"the photo the terminal took").hexdigest()
    r = send(client, "li-ming", sha=claimed)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert "evidence.hash_mismatch" in problem["detail"]
    assert (problem["expected_sha256"], problem["actual_sha256"]) == (claimed, SHA)
    assert stored_files(media) == []
    assert query(db_url, "SELECT count(*) FROM media_uploads")[0][0] == 0
    assert query(db_url, "SELECT count(*) FROM audit_log WHERE action = 'media.upload'") == [(0,)]


@pytest.mark.parametrize(
    ("form", "rule"),
    [
        ({"sha": "abc"}, "evidence.sha256_format"),
        ({"media_type": "application/x-msdownload"}, "evidence.media_type"),
        ({"lat": "22.5"}, "evidence.position"),
    ],
)
def test_refusals_name_their_rule(api, form, rule):
    client, media = api
    r = send(client, "li-ming", **form)
    assert r.status_code == 422 and rule in r.json()["detail"], r.text
    assert stored_files(media) == []


def test_the_upload_limit_applies_to_this_path(api, db_url):
    client, media = api
    big = os.urandom(MAX_UPLOAD + 1)
    r = send(client, "li-ming", data=big, sha=hashlib.sha256(big).hexdigest())
    assert r.status_code == 413
    assert "EHUB_HUB_MAX_UPLOAD_BYTES" in r.json()["detail"]
    assert stored_files(media) == []
    # ... and the larger upload limit (not the 1 MiB JSON one) is what lets 40 kB through.
    assert send(client, "li-ming").status_code == 201


def test_roles_and_reach(api, db_url):
    client, media = api
    seed_case(db_url, "B-1", org_unit_id="team-b", officers=("sb1",), act_date=date(2026, 11, 26))
    assert (
        client.post(
            "/api/v1/uploads", files={"file": ("a.jpg", PHOTO, "image/jpeg")}, data={"sha256": SHA}
        ).status_code
        == 401
    )
    for user in ("fd-equipment_manager", "a-dispatcher", "a-legal_reviewer"):
        r = send(client, user)
        assert r.status_code == 403, (user, r.text)
        assert "cases.handle" in r.json()["detail"]
    # Team A's officer cannot add to team B's case (nor learn that it exists).
    r = send(client, "li-ming", case_id="B-1")
    assert r.status_code == 404 and r.json()["detail"] == "case B-1 not found"
    assert send(client, "li-ming", case_id="NO-SUCH").status_code == 404
    assert stored_files(media) == []  # refused before a byte was stored


def test_a_terminal_counts_only_in_the_hands_of_the_uploader(api, db_url):
    client, _ = api
    register(db_url, ("term-a1", "mobile_terminal"), ("term-a2", "mobile_terminal"))
    now = datetime.now(UTC)
    hold(db_url, "term-a1", "sa1", now - timedelta(hours=1), None)
    hold(db_url, "term-a2", "sa2", now - timedelta(hours=1), None)
    r = send(client, "li-ming", device_id="term-a2")
    assert r.status_code == 403 and "evidence.terminal_custody" in r.json()["detail"]
    r = send(client, "li-ming", device_id="cam-a1")
    assert r.status_code == 422 and "evidence.terminal" in r.json()["detail"]
    r = send(client, "li-ming", device_id="term-a1")
    assert r.status_code == 201 and r.json()["device_id"] == "term-a1"
