"""The media stores: hash checked while writing, nothing kept on a mismatch, content-addressed
URIs. The filesystem store on a real directory; the S3 store's requests as botocore builds
them (``botocore.stub.Stubber``: no S3-compatible server is started by the project's scripts)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from hub.media import HashMismatch, MediaNotFound, chunks_of
from hub.media.factory import media_store
from hub.media.fs import FilesystemStore
from hub.media.s3 import S3Store, make_client
from hub.settings import HubSettings

PHOTO = os.urandom(700_000)  # several chunks
SHA = hashlib.sha256(PHOTO).hexdigest()


def stream(data: bytes) -> AsyncIterator[bytes]:
    return chunks_of(io.BytesIO(data), 64 * 1024)


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_fs_put_keeps_the_bytes_under_their_hash_and_reads_them_back(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    obj = run(store.put(stream(PHOTO), SHA.upper(), "image/jpeg"))
    assert (obj.sha256, obj.size) == (SHA, len(PHOTO))
    assert obj.uri == (tmp_path / SHA[:2] / SHA).resolve().as_uri()
    assert run(store.exists(obj.uri))
    with run(store.open(obj.uri)) as f:
        assert f.read() == PHOTO
    # The same bytes again: the same object, nothing else left behind.
    again = run(store.put(stream(PHOTO), SHA, "image/jpeg"))
    assert again == obj
    assert list((tmp_path / ".tmp").iterdir()) == []


def test_fs_put_refuses_a_mismatch_and_keeps_nothing(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    wrong = hashlib.sha256(b"another photo").hexdigest()
    with pytest.raises(HashMismatch) as e:
        run(store.put(stream(PHOTO), wrong, "image/jpeg"))
    assert (e.value.expected, e.value.actual, e.value.size) == (wrong, SHA, len(PHOTO))
    assert "evidence.hash_mismatch" in str(e.value)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files == []
    assert not run(store.exists((tmp_path / wrong[:2] / wrong).as_uri()))


def test_fs_refuses_a_malformed_hash_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a SHA-256"):
        run(FilesystemStore(tmp_path).put(stream(PHOTO), "abc", "image/jpeg"))
    assert not (tmp_path / ".tmp").exists()


def test_fs_opens_only_its_own_objects(tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("not evidence")
    store = FilesystemStore(tmp_path / "media")
    for uri in (outside.as_uri(), "file:///etc/passwd", "s3://bucket/x", "relative/path"):
        assert not run(store.exists(uri))
        with pytest.raises(MediaNotFound):
            run(store.open(uri))


def test_fs_a_failing_stream_leaves_no_temporary_file(tmp_path: Path) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"part of a photo"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        run(FilesystemStore(tmp_path).put(broken(), SHA, "image/jpeg"))
    assert list((tmp_path / ".tmp").iterdir()) == []


# ---------------------------------------------------------------------------------- S3 ------
def client() -> object:
    return boto3.client(
        "s3",
        endpoint_url="http://minio.test:9000",
        aws_access_key_id="k",
        aws_secret_access_key="s",
        config=Config(region_name="us-east-1", s3={"addressing_style": "path"}),
    )


def test_s3_put_sends_the_object_under_its_hash_with_the_checksum_header() -> None:
    c = client()
    store = S3Store(c, "evidence-bucket", prefix="/ehub/")
    key = f"ehub/{SHA[:2]}/{SHA}"
    with Stubber(c) as stub:
        stub.add_response(
            "put_object",
            {"ETag": '"x"'},
            {
                "Bucket": "evidence-bucket",
                "Key": key,
                "Body": ANY,
                "ContentLength": len(PHOTO),
                "ContentType": "image/jpeg",
                "Metadata": {"sha256": SHA},
                "ChecksumSHA256": base64.b64encode(bytes.fromhex(SHA)).decode(),
            },
        )
        obj = run(store.put(stream(PHOTO), SHA, "image/jpeg"))
        stub.assert_no_pending_responses()
    assert obj.uri == f"s3://evidence-bucket/{key}"
    assert (obj.sha256, obj.size) == (SHA, len(PHOTO))


def test_s3_request_as_built_for_a_path_style_endpoint() -> None:
    """The HTTP request botocore builds (the Stubber answers before sending, so this uses
    the ``before-send`` hook to see it and answer it)."""
    from botocore.awsrequest import AWSResponse

    c = make_client(
        endpoint_url="http://minio.test:9000",
        region="us-east-1",
        access_key="k",
        secret_key="s",
        path_style=True,
    )
    seen: dict[str, object] = {}

    class _Raw:
        def stream(self, **_kw: object) -> list[bytes]:
            return [b""]

    def answer(request, **_kw):  # type: ignore[no-untyped-def]
        seen["method"] = request.method
        seen["url"] = request.url
        seen["headers"] = {
            k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()
        }
        body = request.body
        seen["body"] = body.read() if hasattr(body, "read") else body
        return AWSResponse(request.url, 200, {"ETag": '"e"'}, _Raw())

    c.meta.events.register("before-send.s3.PutObject", answer)
    obj = run(S3Store(c, "ev").put(stream(PHOTO), SHA, "image/jpeg"))
    assert seen["method"] == "PUT"
    assert seen["url"] == f"http://minio.test:9000/ev/{SHA[:2]}/{SHA}"
    h = seen["headers"]
    assert isinstance(h, dict)
    assert h["x-amz-checksum-sha256"] == base64.b64encode(bytes.fromhex(SHA)).decode()
    assert h["x-amz-meta-sha256"] == SHA
    assert h["content-type"] == "image/jpeg"
    assert str(h["authorization"]).startswith("AWS4-HMAC-SHA256 Credential=k/")
    assert seen["body"] == PHOTO
    assert obj.uri == f"s3://ev/{SHA[:2]}/{SHA}"


def test_s3_sends_nothing_on_a_mismatch() -> None:
    c = client()
    with Stubber(c) as stub:  # no response queued: any request would fail the test
        with pytest.raises(HashMismatch):
            run(S3Store(c, "b").put(stream(PHOTO), "0" * 64, "image/jpeg"))
        stub.assert_no_pending_responses()


def test_s3_exists_and_open() -> None:
    c = client()
    store = S3Store(c, "b", checksum=False)
    uri = f"s3://b/{SHA[:2]}/{SHA}"
    with Stubber(c) as stub:
        stub.add_response("head_object", {}, {"Bucket": "b", "Key": f"{SHA[:2]}/{SHA}"})
        stub.add_client_error("head_object", "404", http_status_code=404)
        stub.add_client_error("get_object", "NoSuchKey", http_status_code=404)
        stub.add_client_error("head_object", "AccessDenied", http_status_code=403)
        assert run(store.exists(uri))
        assert not run(store.exists(uri))
        with pytest.raises(MediaNotFound):
            run(store.open(uri))
        with pytest.raises(ClientError):  # not "missing": a refusal is an error, said as one
            run(store.exists(uri))
    assert not run(store.exists("s3://another-bucket/x"))


def test_settings_pick_the_store(tmp_path: Path) -> None:
    fs = media_store(HubSettings(hub_media_dir=str(tmp_path)))
    assert isinstance(fs, FilesystemStore) and fs.root == tmp_path.resolve()
    with pytest.raises(ValueError, match="EHUB_HUB_MEDIA_S3_BUCKET"):
        media_store(HubSettings(hub_media_backend="s3"))
    s3 = media_store(
        HubSettings(
            hub_media_backend="s3",
            hub_media_s3_bucket="ev",
            hub_media_s3_endpoint="http://minio.test:9000",
            hub_media_s3_access_key="k",
            hub_media_s3_secret_key="s",
        )
    )
    assert isinstance(s3, S3Store) and s3.prefix == "evidence/" and s3.bucket == "ev"
