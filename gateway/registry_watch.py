"""Registry changes pushed to the gateway and the bridge: ``LISTEN ehub_registry``.

Migration 013 notifies the channel ``ehub_registry`` with a device id whenever a device is
retired, lost, found again, changes kind or leaves the registry, and whenever a JT/T 808
terminal entry changes. The gateway and the bridge cache the registry; a notification drops
that device from their caches, so the next message re-reads it (within a second of the commit).

Why LISTEN/NOTIFY and not polling ``live_touch`` like the hub's live index: a notification
arrives when the transaction commits, with no poll load per gateway process and no snapshot
arithmetic copied out of ``hub`` (which ``gateway`` must not import); NOTIFY is transactional
(a rolled-back retire notifies nobody). What it loses is what happens while the listening
connection is down, so every (re)connect LISTENs first and then re-syncs: the caches are
cleared (the gateway re-reads devices lazily, the bridge reloads its terminals), and any change
after the LISTEN is notified. It needs a direct session to PostgreSQL (not a pooler in
transaction mode), as the gateway's own connection already does.

A LISTEN connection only ever reads, so if the network silently drops it (a NAT or firewall
forgetting the flow, a database failover that never sent a FIN) nothing fails: ``notifies``
just times out forever and retirements stop arriving. Two guards: TCP keepalives and
``tcp_user_timeout`` (libpq connection parameters, ``CONNECT_PARAMS``) let the kernel fail a
dead socket, and every ``PROBE_EVERY_S`` of silence the listener makes one round trip
(``PROBE``); a failure takes the reconnect path (LISTEN first, then re-sync).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import psycopg

log = logging.getLogger(__name__)

CHANNEL = "ehub_registry"

# libpq parameters (PostgreSQL docs, "Parameter Key Words"): an idle dead connection fails
# after keepalives_idle + keepalives_interval * keepalives_count s (60 s); a probe the peer
# never acknowledges fails after tcp_user_timeout ms.
CONNECT_PARAMS: dict[str, Any] = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}
PROBE_EVERY_S = 10.0
# The liveness round trip. LISTEN again rather than SELECT 1: as cheap (a no-op when already
# listening), and pg_stat_activity keeps showing what this connection is for.
PROBE = f"LISTEN {CHANNEL}"


def idle_polls_per_probe(poll_s: float, probe_every_s: float) -> int:
    """How many silent polls of ``poll_s`` make one probe interval (at least one)."""
    return max(1, round(probe_every_s / poll_s))


class RegistryWatch:
    """A thread that LISTENs and collects the changed device ids until ``drain`` takes them."""

    def __init__(
        self, conninfo: str, *, poll_s: float = 0.5, probe_every_s: float = PROBE_EVERY_S
    ) -> None:
        self.conninfo = conninfo
        self.poll_s = poll_s
        self.probe_every = idle_polls_per_probe(poll_s, probe_every_s)
        self.connects = 0  # successful LISTENs, the first one included
        self._lock = threading.Lock()
        self._changed: set[str] = set()
        self._resync = True  # nothing is known to be current until the first LISTEN
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()
        self.notifications = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="registry-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def drain(self) -> tuple[bool, set[str]]:
        """(whether every cached entry must be dropped, the device ids changed since last time)."""
        with self._lock:
            resync, changed = self._resync, self._changed
            self._resync, self._changed = False, set()
        return resync, changed

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True, **CONNECT_PARAMS) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    with self._lock:  # LISTEN first, then forget: no change falls in between
                        self._resync = True
                        self.connects += 1
                    self.listening.set()
                    backoff = 0.5
                    idle = 0
                    while not self._stop.is_set():
                        idle += 1
                        for n in conn.notifies(timeout=self.poll_s):
                            idle = 0
                            with self._lock:
                                self._changed.add(n.payload)
                                self.notifications += 1
                        if idle >= self.probe_every:  # silent for a while: still there?
                            idle = 0
                            conn.execute(PROBE)
            except psycopg.Error as exc:
                self.listening.clear()
                log.warning("registry watch: %s; re-syncing after reconnect", exc)
                if self._stop.wait(backoff):
                    return
                backoff = min(backoff * 2, 5.0)
