"""Where evidence files live: one interface (``MediaStore``), a filesystem store (the default)
and an S3-compatible store. See ``base`` for the interface and the error tree."""

from __future__ import annotations

from hub.media.base import (
    HashMismatch,
    MediaError,
    MediaNotFound,
    MediaStore,
    StoredObject,
    chunks_of,
)

__all__ = [
    "HashMismatch",
    "MediaError",
    "MediaNotFound",
    "MediaStore",
    "StoredObject",
    "chunks_of",
]
