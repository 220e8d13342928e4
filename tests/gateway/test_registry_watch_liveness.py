"""The registry listener notices a connection the network dropped without a word
(``gateway.registry_watch``): a TCP proxy between it and the real TimescaleDB "forgets" the
connection, as a NAT that lost the flow or a failed-over server does (no FIN; the next bytes
the client sends are answered with a reset). A listener only reads, so without the liveness
probe it never sends those bytes and waits forever, still "listening"."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import threading
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from gateway.jt808_bridge import Bridge, Registry
from gateway.registry_watch import CHANNEL, CONNECT_PARAMS, RegistryWatch, idle_polls_per_probe
from tests.helpers import wait_until

pytestmark = pytest.mark.integration


class ForgetfulProxy:
    """Forwards TCP to ``upstream``; ``forget()`` makes the live connections dead in silence."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self._pairs: list[tuple[socket.socket, socket.socket, threading.Event]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            up = socket.create_connection(self.upstream)
            forgotten = threading.Event()
            self._pairs.append((client, up, forgotten))
            threading.Thread(target=self._pump, args=(client, up, forgotten), daemon=True).start()
            threading.Thread(target=self._pump, args=(up, client, forgotten), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, forgotten: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                if forgotten.is_set():
                    # The flow is unknown now: a reset, as the far end of a lost flow sends.
                    src.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    src.close()
                    return
                dst.sendall(data)

    def forget(self) -> None:
        """The server side goes away; the client hears nothing until it speaks."""
        for _client, up, forgotten in self._pairs:
            forgotten.set()
            with contextlib.suppress(OSError):
                up.close()

    def close(self) -> None:
        self.server.close()
        for client, up, _ in self._pairs:
            for s in (client, up):
                with contextlib.suppress(OSError):
                    s.close()


@pytest.fixture()
def proxied(db_url: str) -> Iterator[tuple[ForgetfulProxy, str]]:
    params = conninfo_to_dict(db_url)
    proxy = ForgetfulProxy(str(params.get("host", "127.0.0.1")), int(params.get("port", 5432)))
    yield proxy, make_conninfo(db_url, host="127.0.0.1", port=str(proxy.port))
    proxy.close()


def _notify(db_url: str, payload: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))


def _watch(conninfo: str, probe_every_s: float) -> RegistryWatch:
    w = RegistryWatch(conninfo, poll_s=0.05, probe_every_s=probe_every_s)
    w.start()
    wait_until(w.listening.is_set, timeout=10)
    return w


def test_a_silently_dropped_listener_is_noticed_by_its_probe_and_resyncs(db_url, proxied):
    proxy, conninfo = proxied
    w = _watch(conninfo, probe_every_s=0.2)
    try:
        assert w.drain() == (True, set())  # the first LISTEN: everything must be re-read
        _notify(db_url, "cam-before")
        wait_until(lambda: w.notifications == 1, timeout=5)
        assert w.drain() == (False, {"cam-before"})
        proxy.forget()
        wait_until(lambda: w.connects == 2, timeout=10)  # probe failed -> reconnected
        resync, _ = w.drain()
        assert resync, "after a reconnect the caches must be dropped (changes were missed)"
        wait_until(w.listening.is_set, timeout=5)
        _notify(db_url, "cam-after")
        wait_until(lambda: "cam-after" in w.drain()[1], timeout=5)
    finally:
        w.stop()


def test_without_the_probe_the_same_drop_goes_unnoticed(db_url, proxied):
    """The control: what the probe fixes (a listener only reads, so it hears nothing)."""
    proxy, conninfo = proxied
    w = _watch(conninfo, probe_every_s=3600)
    try:
        proxy.forget()
        _notify(db_url, "cam-lost")
        with pytest.raises(AssertionError):
            wait_until(lambda: w.connects > 1 or w.notifications > 0, timeout=1.5)
        assert w.listening.is_set()  # still "listening", to nothing
    finally:
        w.stop()


def test_the_listener_connection_has_tcp_keepalives_and_a_user_timeout(db_url):
    """Without them the kernel never fails a dead idle socket (a client socket has keepalives
    off by default). Read back from the socket libpq opened with the listener's parameters."""
    with psycopg.connect(db_url, autocommit=True, **CONNECT_PARAMS) as conn:
        sock = socket.socket(fileno=os.dup(conn.fileno()))
        try:
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            tcp = socket.IPPROTO_TCP
            assert sock.getsockopt(tcp, socket.TCP_KEEPIDLE) == CONNECT_PARAMS["keepalives_idle"]
            assert sock.getsockopt(tcp, socket.TCP_KEEPINTVL) == 10
            assert sock.getsockopt(tcp, socket.TCP_KEEPCNT) == 3
            assert sock.getsockopt(tcp, socket.TCP_USER_TIMEOUT) == 30_000
        finally:
            sock.close()


def test_probe_interval_is_counted_in_silent_polls():
    assert idle_polls_per_probe(0.5, 10.0) == 20
    assert idle_polls_per_probe(0.5, 0.1) == 1  # never zero: that would probe never or always


def test_the_jt808_bridge_listener_notices_the_same_drop_and_listens_again(db_url, proxied):
    proxy, conninfo = proxied

    async def scenario() -> None:
        b = Bridge(Registry(conninfo), "127.0.0.1", 1)
        task = asyncio.create_task(b._watch_registry(poll_s=0.05, probe_every_s=0.2))
        try:
            await asyncio.wait_for(b.registry_listening.wait(), 10)
            assert b.registry_connects == 1
            proxy.forget()
            async with asyncio.timeout(10):
                while b.registry_connects < 2:  # probe failed -> LISTEN again, then reload
                    await asyncio.sleep(0.05)
            assert b.registry_listening.is_set()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(scenario())
