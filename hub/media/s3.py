"""The S3-compatible media store (AWS S3, MinIO, Ceph RGW, the cloud object stores of Chinese
government clouds), through boto3.

boto3 (Apache-2.0, AWS's own SDK, released every few days) was chosen over the MinIO SDK
because every S3-compatible server is tested against it first, and over aiobotocore because
that pins botocore to old releases; its calls block, so they run in a worker thread.

``put`` spools the stream to a temporary file while hashing it: nothing is sent on a
mismatch, and S3 needs the length before the body. The upload carries the SHA-256 as
``x-amz-checksum-sha256``, so a server that checks it (S3, MinIO) refuses bytes damaged on the
way; ``checksum=False`` leaves it out for servers that reject the header. Keys are
``{prefix}{ab}/{sha256}``; URIs ``s3://{bucket}/{key}``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import tempfile
from collections.abc import AsyncIterator
from typing import IO, Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from hub.media.base import HashMismatch, MediaNotFound, StoredObject, check_sha256, object_key


class S3Store:
    def __init__(self, client: Any, bucket: str, *, prefix: str = "", checksum: bool = True):
        """``client``: a boto3 S3 client (``make_client``), or a stubbed one in tests."""
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.checksum = checksum

    def _key(self, uri: str) -> str:
        parts = urlsplit(uri)
        key = parts.path.lstrip("/")
        if parts.scheme != "s3" or parts.netloc != self.bucket or not key.startswith(self.prefix):
            raise MediaNotFound(uri)
        return key

    async def put(
        self, stream: AsyncIterator[bytes], expected_sha256: str, media_type: str
    ) -> StoredObject:
        expected = check_sha256(expected_sha256)
        digest = hashlib.sha256()
        size = 0
        with tempfile.TemporaryFile() as spool:
            async for chunk in stream:
                digest.update(chunk)
                size += len(chunk)
                spool.write(chunk)
            actual = digest.hexdigest()
            if actual != expected:
                raise HashMismatch(expected, actual, size)
            spool.seek(0)
            key = self.prefix + object_key(actual)
            args: dict[str, Any] = {
                "Bucket": self.bucket,
                "Key": key,
                "Body": spool,
                "ContentLength": size,
                "ContentType": media_type,
                "Metadata": {"sha256": actual},
            }
            if self.checksum:
                args["ChecksumSHA256"] = base64.b64encode(digest.digest()).decode()
            await asyncio.to_thread(lambda: self.client.put_object(**args))
        return StoredObject(f"s3://{self.bucket}/{key}", actual, size)

    async def open(self, uri: str) -> IO[bytes]:
        key = self._key(uri)
        try:
            resp = await asyncio.to_thread(
                lambda: self.client.get_object(Bucket=self.bucket, Key=key)
            )
        except Exception as exc:
            if _status(exc) == 404:
                raise MediaNotFound(uri) from None
            raise
        body: IO[bytes] = resp["Body"]
        return body

    async def exists(self, uri: str) -> bool:
        try:
            key = self._key(uri)
        except MediaNotFound:
            return False
        try:
            await asyncio.to_thread(lambda: self.client.head_object(Bucket=self.bucket, Key=key))
        except Exception as exc:
            if _status(exc) == 404:
                return False
            raise
        return True


def _status(exc: Exception) -> int | None:
    """The HTTP status of a botocore ``ClientError`` (without importing botocore here)."""
    resp = getattr(exc, "response", None)
    if not isinstance(resp, dict):
        return None
    status = resp.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code = resp.get("Error", {}).get("Code")
    if status is None and code in ("404", "NoSuchKey", "NotFound"):
        return 404
    return int(status) if status is not None else None


def make_client(
    *,
    endpoint_url: str | None,
    region: str,
    access_key: str | None,
    secret_key: str | None,
    path_style: bool,
) -> Any:
    """A boto3 S3 client for an S3-compatible endpoint. Path-style addressing by default:
    most in-house servers have no wildcard DNS for virtual-hosted buckets. Checksums only when
    asked (``put`` sends its own), so servers that do not know botocore's default CRC32
    trailers still accept the uploads."""
    config = Config(
        region_name=region,
        s3={"addressing_style": "path" if path_style else "auto"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        retries={"max_attempts": 3, "mode": "standard"},
    )
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=config,
    )
