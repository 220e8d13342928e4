"""The file ``ehub admin broker-credentials`` writes passwords into is owner-only whatever was
at that path before (``ehub.broker_admin.open_private``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ehub.broker_admin import open_private


def _write(fd: int, text: str) -> None:
    with os.fdopen(fd, "w") as f:
        f.write(text)


def test_a_new_file_is_created_owner_only(tmp_path: Path) -> None:
    out = tmp_path / "creds.csv"
    old = os.umask(0)  # even with a permissive umask
    try:
        _write(open_private(out), "device_id,password\n")
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o600


def test_an_existing_world_readable_file_ends_0600_and_its_old_content_is_gone(
    tmp_path: Path,
) -> None:
    out = tmp_path / "creds.csv"
    out.write_text("an older and much longer content than what is written next\n")
    out.chmod(0o644)
    fd = open_private(out)
    assert os.fstat(fd).st_mode & 0o777 == 0o600  # before anything is written
    _write(fd, "new\n")
    assert out.stat().st_mode & 0o777 == 0o600
    assert out.read_text() == "new\n"


def test_a_symlink_is_refused_and_its_target_left_untouched(tmp_path: Path) -> None:
    target = tmp_path / "public.txt"
    target.write_text("public\n")
    target.chmod(0o644)
    link = tmp_path / "creds.csv"
    link.symlink_to(target)
    with pytest.raises(OSError, match="symbolic link"):
        open_private(link)
    assert target.read_text() == "public\n"
    assert target.stat().st_mode & 0o777 == 0o644


def test_something_other_than_a_regular_file_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "creds.csv"
    os.mkfifo(fifo, 0o644)
    # O_WRONLY on a FIFO with no reader would block: open it read-write elsewhere first.
    keep = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        with pytest.raises(OSError, match="not a regular file"):
            open_private(fifo)
    finally:
        os.close(keep)
