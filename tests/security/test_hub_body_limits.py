"""Attacks with big request bodies (issue 12 part 7): a body over the limit is refused with a
413 problem before it is read, whether it declares its length or streams in chunks; multipart
uploads get their own, larger limit, on the routes that take files only. Against the hub as it
runs (uvicorn), real database."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from hub.api.limits import BodyLimit
from tests.factories.hub import PASSWORD, seed_city
from tests.helpers import RunningHub
from tests.security._hub import hub_settings

pytestmark = pytest.mark.integration
MAX_BODY = 64 * 1024
MAX_UPLOAD = 1024 * 1024


@pytest.fixture()
def hub(db_url: str) -> Iterator[RunningHub]:
    h = RunningHub(
        hub_settings(db_url, hub_max_body_bytes=MAX_BODY, hub_max_upload_bytes=MAX_UPLOAD)
    )
    seed_city(db_url)
    yield h
    h.stop()


def auth(hub: RunningHub) -> dict[str, str]:
    r = httpx.post(
        f"{hub.url}/api/v1/auth/token", data={"username": "a-admin", "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def assert_413(r: httpx.Response) -> None:
    assert r.status_code == 413, r.text[:300]
    assert r.headers["content-type"] == "application/problem+json"
    assert f"larger than {MAX_BODY} bytes" in r.json()["detail"]


def test_a_50_mib_json_body_is_413_before_it_is_read(hub: RunningHub) -> None:
    # Headers announce 50 MiB; only 1 KiB is ever sent. The answer comes anyway: the hub did
    # not wait for (or buffer) the rest.
    host, port = urlsplit(hub.url).hostname, urlsplit(hub.url).port
    assert host and port
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(
            b"POST /api/v1/devices HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
            b"Content-Length: 52428800\r\n\r\n" + b"[" * 1024
        )
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert b"application/problem+json" in head
    assert json.loads(body)["status"] == 413


def test_a_chunked_json_body_over_the_limit_is_413(hub: RunningHub) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:  # no Content-Length: Transfer-Encoding: chunked
        nonlocal sent
        for _ in range(10 * 1024):  # would be 10 MiB
            sent += 1024
            yield b" " * 1024

    r = httpx.post(
        f"{hub.url}/api/v1/devices",
        content=chunks(),
        headers={**auth(hub), "Content-Type": "application/json"},
        timeout=30,
    )
    assert_413(r)
    assert "content-length" not in r.request.headers


def test_a_json_body_under_the_limit_is_read_as_usual(hub: RunningHub) -> None:
    body = {"device_id": "cam-a9", "device_type": "body_camera", "org_unit_id": "team-a"}
    padded = json.dumps(body) + " " * (MAX_BODY - 200)
    r = httpx.post(
        f"{hub.url}/api/v1/devices",
        content=padded,
        headers={**auth(hub), "Content-Type": "application/json"},
    )
    assert r.status_code == 201, r.text


def test_a_form_body_over_the_limit_is_413(hub: RunningHub) -> None:
    r = httpx.post(
        f"{hub.url}/api/v1/auth/token",
        data={"username": "a-admin", "password": "x" * (MAX_BODY + 1)},
    )
    assert_413(r)


def test_a_json_route_called_with_a_multipart_header_keeps_the_body_limit_413(
    hub: RunningHub,
) -> None:
    # The attack: claim to be an upload to get the 50 MiB limit on a route that takes no files.
    url = f"{hub.url}/api/v1/auth/token"
    fields = {"username": "a-admin", "password": PASSWORD}
    r = httpx.post(url, data=fields, files={"photo": ("a.jpg", b"\xff" * (MAX_BODY * 4))})
    assert_413(r)
    r = httpx.post(
        f"{hub.url}/api/v1/devices",
        content=b"x" * (MAX_BODY * 4),
        headers={**auth(hub), "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert_413(r)


def test_an_upload_route_gets_the_larger_limit_and_no_more() -> None:
    # The middleware alone on a two-route app: the upload limit follows the route.
    async def echo(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(len(await request.body())))

    app = BodyLimit(
        Starlette(
            routes=[
                Route("/upload", echo, methods=["POST"]),
                Route("/json", echo, methods=["POST"]),
            ]
        ),
        max_body=MAX_BODY,
        max_upload=MAX_UPLOAD,
        upload_paths=("/upload",),
    )
    with TestClient(app) as client:
        big = {"photo": ("a.jpg", b"\xff" * (MAX_BODY * 4))}
        r = client.post("/upload", files=big)
        assert r.status_code == 200 and int(r.text) > MAX_BODY * 4
        assert client.post("/json", files=big).status_code == 413
        r = client.post("/upload", files={"photo": ("a.jpg", b"\xff" * (MAX_UPLOAD + 1))})
        assert r.status_code == 413
        assert f"larger than {MAX_UPLOAD} bytes" in r.json()["detail"]


def test_a_content_length_that_is_not_a_number_is_400(hub: RunningHub) -> None:
    host, port = urlsplit(hub.url).hostname, urlsplit(hub.url).port
    assert host and port
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"POST /api/v1/devices HTTP/1.1\r\nHost: hub\r\nContent-Length: -5\r\n\r\n")
        answer = s.recv(65536)
    # uvicorn (h11) may refuse it itself before the hub sees it; either way never read.
    assert answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 413")), answer[:100]
