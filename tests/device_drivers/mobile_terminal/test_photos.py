"""The terminal's photo upload against the real hub (uvicorn on a port, real database, real
media directory): the hash travels with the photo and is checked on arrival."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from device_drivers.mobile_terminal.photos import UploadError, UploadRefused, upload_photo
from hub.settings import HubSettings
from tests.factories.evidence import add_user
from tests.factories.hub import PASSWORD, seed_city
from tests.helpers import RunningHub, query

pytestmark = pytest.mark.integration


@pytest.fixture()
def hub(db_url: str, tmp_path: Path) -> Iterator[tuple[RunningHub, Path]]:
    seed_city(db_url)
    add_user(db_url, "li-ming", "officer", "team-a", "sa1")
    media = tmp_path / "media"
    h = RunningHub(
        HubSettings(
            database_url=db_url,
            hub_jwt_secret="s" * 40,
            hub_id_hash_key="k" * 40,
            hub_media_dir=str(media),
            hub_alert_interval_s=3600,
            hub_usage_interval_s=3600,
        )
    )
    yield h, media
    h.stop()


def token(url: str) -> str:
    import json
    import urllib.parse
    import urllib.request

    body = urllib.parse.urlencode({"username": "li-ming", "password": PASSWORD}).encode()
    with urllib.request.urlopen(url + "/api/v1/auth/token", data=body, timeout=10) as r:
        return str(json.loads(r.read())["access_token"])


def test_the_terminal_uploads_a_photo_with_its_hash(hub, db_url, tmp_path):
    h, media = hub
    photo = tmp_path / "IMG_20261126_100300.jpg"
    photo.write_bytes(os.urandom(300_000))
    digest = hashlib.sha256(photo.read_bytes()).hexdigest()
    t = token(h.url)
    taken = datetime(2026, 11, 26, 2, 3, tzinfo=UTC)
    up = upload_photo(h.url, t, photo, taken_at=taken, lat=22.54, lon=114.05)
    assert (up.sha256, up.size_bytes, up.repeated, up.evidence_id) == (digest, 300_000, False, None)
    assert (media / digest[:2] / digest).read_bytes() == photo.read_bytes()
    assert query(db_url, "SELECT file_name, taken_at FROM media_uploads") == [
        ("IMG_20261126_100300.jpg", taken)
    ]
    # Sent again after a lost answer: the same upload.
    again = upload_photo(h.url, t, photo, sha256=digest)
    assert again.upload_id == up.upload_id and again.repeated

    # Bytes that are not the ones hashed: refused, named, nothing kept.
    other = os.urandom(1000)
    with pytest.raises(UploadRefused) as e:
        upload_photo(h.url, t, other, sha256=digest)
    assert e.value.status == 422 and "evidence.hash_mismatch" in e.value.problem["detail"]
    assert query(db_url, "SELECT count(*) FROM media_uploads")[0][0] == 1

    with pytest.raises(UploadRefused) as e:
        upload_photo(h.url, "not-a-token", photo)
    assert e.value.status == 401


def test_an_unreachable_hub_is_an_upload_error(tmp_path):
    with pytest.raises(UploadError) as e:
        upload_photo("http://127.0.0.1:9", "t", b"x", timeout_s=2)
    assert not isinstance(e.value, UploadRefused)
