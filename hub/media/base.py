"""The media store interface: put a stream with the SHA-256 its sender claims, open, exists.

A store hashes what it receives while it writes it and keeps nothing whose hash is not the one
claimed: the evidence chain starts with the hash the device computed, and a file the hub keeps
under that hash must be exactly those bytes. Objects are content-addressed (the key is the
hash), so the same photo uploaded twice is stored once and its URI never changes.

Errors::

    MediaError
     ├── HashMismatch    the bytes received do not hash to the claimed SHA-256 (nothing kept)
     └── MediaNotFound   no object at that URI (open)
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import IO, Protocol

SHA256_PATTERN = "^[0-9a-f]{64}$"
_SHA256 = re.compile(SHA256_PATTERN)
CHUNK = 256 * 1024


class MediaError(Exception):
    """Anything a media store refuses."""


class HashMismatch(MediaError):
    def __init__(self, expected: str, actual: str, size: int) -> None:
        super().__init__(
            f"the file's SHA-256 is {actual} ({size} bytes), not the {expected} it was sent"
            " with: nothing was kept (evidence.hash_mismatch)"
        )
        self.expected = expected
        self.actual = actual
        self.size = size


class MediaNotFound(MediaError):
    def __init__(self, uri: str) -> None:
        super().__init__(f"no stored media at {uri}")
        self.uri = uri


@dataclass(frozen=True, slots=True)
class StoredObject:
    uri: str
    sha256: str
    size: int


class MediaStore(Protocol):
    """Evidence files. ``put`` consumes ``stream`` to its end."""

    async def put(
        self, stream: AsyncIterator[bytes], expected_sha256: str, media_type: str
    ) -> StoredObject: ...

    async def open(self, uri: str) -> IO[bytes]: ...

    async def exists(self, uri: str) -> bool: ...


def check_sha256(value: str) -> str:
    """A SHA-256 as the hub stores it: 64 lowercase hex digits."""
    v = value.strip().lower()
    if not _SHA256.match(v):
        raise ValueError(f"not a SHA-256 (64 hex digits): {value[:80]!r}")
    return v


def object_key(sha256: str) -> str:
    """``ab/abcdef…``: a two-character fan-out keeps directories (and S3 listings) small."""
    return f"{sha256[:2]}/{sha256}"


async def chunks_of(f: IO[bytes], size: int = CHUNK) -> AsyncIterator[bytes]:
    """A file object's bytes as an async stream (an ``UploadFile``'s spooled file, a test's
    ``BytesIO``)."""
    while chunk := f.read(size):
        yield chunk
