"""The filesystem media store (the default): objects under one directory, named by hash.

``put`` writes to a temporary file in the store's own ``.tmp`` directory (the same filesystem,
so the rename is atomic) while hashing, refuses and deletes it on a mismatch, else fsyncs the
file, renames it into place and fsyncs the directory, so that an object the hub has answered
for survives a power cut. URIs are ``file://`` URLs of the object's path.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlsplit

from hub.media.base import HashMismatch, MediaNotFound, StoredObject, check_sha256, object_key


class FilesystemStore:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def _path(self, uri: str) -> Path:
        parts = urlsplit(uri)
        path = Path(unquote(parts.path)).resolve() if parts.scheme == "file" else None
        # Only objects of this store: a URI naming any other file (../../etc/passwd) is unknown.
        if path is None or path.parent.parent != self.root:
            raise MediaNotFound(uri)
        return path

    async def put(
        self, stream: AsyncIterator[bytes], expected_sha256: str, media_type: str
    ) -> StoredObject:
        expected = check_sha256(expected_sha256)
        tmp_dir = self.root / ".tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="up-")
        tmp = Path(tmp_name)
        digest = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as f:
                async for chunk in stream:
                    digest.update(chunk)
                    size += len(chunk)
                    f.write(chunk)
                actual = digest.hexdigest()
                if actual != expected:
                    raise HashMismatch(expected, actual, size)
                f.flush()
                await asyncio.to_thread(os.fsync, f.fileno())
            final = self.root / object_key(actual)
            final.parent.mkdir(parents=True, exist_ok=True)
            # Same hash, same bytes: an object already there is this one (a re-upload).
            os.replace(tmp, final)
            await asyncio.to_thread(_fsync_dir, final.parent)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        return StoredObject(final.as_uri(), actual, size)

    async def open(self, uri: str) -> IO[bytes]:
        path = self._path(uri)
        try:
            return path.open("rb")
        except FileNotFoundError:
            raise MediaNotFound(uri) from None

    async def exists(self, uri: str) -> bool:
        try:
            return self._path(uri).is_file()
        except MediaNotFound:
            return False


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
