"""A simulated JT/T 808 terminal over real TCP -> bridge -> real Mosquitto -> gateway ->
TimescaleDB, plus what an unknown terminal and a wrong auth code get back."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from datetime import UTC, datetime

import psycopg
import pytest

from device_drivers.vehicle_tracker.jt808.codec import decode, encode
from device_drivers.vehicle_tracker.jt808.framing import FrameSplitter
from device_drivers.vehicle_tracker.jt808.messages import (
    Authenticate,
    Empty,
    GeneralResponse,
    Header,
    LocationReport,
    Message,
    MsgId,
    Register,
    RegisterResponse,
    RegisterResult,
    Result,
)
from ehub.pgcluster import free_port
from gateway.jt808_bridge import Bridge, Registry
from gateway.settings import MqttEndpoint
from tests.helpers import clear_retained, query, register, wait_until

PHONE = "013912345678"


@pytest.fixture()
def bridge(db_url, mqtt_url):
    ep = MqttEndpoint.parse(mqtt_url)
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = asyncio.Event()
    b = Bridge(Registry(db_url), ep.host, ep.port)
    task = loop.create_task(b.run("127.0.0.1", port, ready))
    t = threading.Thread(target=loop.run_forever, daemon=True)
    t.start()
    asyncio.run_coroutine_threadsafe(asyncio.wait_for(ready.wait(), 10), loop).result(15)
    yield port

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run_coroutine_threadsafe(stop(), loop).result(15)
    loop.call_soon_threadsafe(loop.stop)
    t.join(5)
    loop.close()
    clear_retained(
        mqtt_url, [f"ehub/v1/vehicle_tracker/{d}/state" for d in ("trk-0808", "trk-0809")]
    )


class Terminal:
    """A blocking-free little JT/T 808 terminal for tests."""

    def __init__(self, port: int, phone: str = PHONE) -> None:
        self.port, self.phone, self.serial = port, phone, 0

    async def __aenter__(self) -> Terminal:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.splitter = FrameSplitter()
        self.pending: list[Message] = []
        return self

    async def __aexit__(self, *exc) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()

    async def call(self, msg_id: int, body) -> Message:
        self.serial += 1
        self.writer.write(encode(Message(Header(msg_id, self.phone, self.serial), body)))
        await self.writer.drain()
        while not self.pending:
            data = await asyncio.wait_for(self.reader.read(4096), 10)
            assert data, "bridge closed the connection"
            self.pending += [decode(f) for f in self.splitter.feed(data)]
        return self.pending.pop(0)


def report(lat: float) -> LocationReport:
    return LocationReport(
        0,
        0b11,
        lat,
        114.057865,
        15,
        36.0,
        90,
        datetime.now(UTC).replace(microsecond=0),
        {0x01: (1000).to_bytes(4, "big"), 0x31: b"\x09"},
    )


def test_terminal_registers_authenticates_and_its_fixes_land(db_url, start_gateway, bridge):
    register(db_url, ("trk-0808", "vehicle_tracker"))
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO jt808_terminals (device_id, phone) VALUES ('trk-0808', %s)", (PHONE,)
        )
    start_gateway(db_url)

    async def scenario() -> None:
        async with Terminal(bridge) as term:
            reply = await term.call(MsgId.LOCATION_REPORT, report(22.5))
            assert reply.body == GeneralResponse(1, MsgId.LOCATION_REPORT, Result.FAILURE)
            reply = await term.call(
                MsgId.REGISTER, Register(44, 300, "ZTE", "ZX", "T1", 1, "粤B12345")
            )
            assert isinstance(reply.body, RegisterResponse)
            assert reply.body.result == RegisterResult.OK
            code = reply.body.auth_code
            reply = await term.call(MsgId.AUTHENTICATE, Authenticate(code))
            assert reply.body.result == Result.OK
            for i in range(5):
                reply = await term.call(MsgId.LOCATION_REPORT, report(22.5 + i / 1000))
                assert reply.body.result == Result.OK
            assert (await term.call(MsgId.HEARTBEAT, Empty())).body.result == Result.OK
        # a reconnect authenticates with the stored code, no new registration
        async with Terminal(bridge) as term:
            assert (await term.call(MsgId.AUTHENTICATE, Authenticate(code))).body.result == 0
            assert (await term.call(MsgId.LOCATION_REPORT, report(22.6))).body.result == 0

    asyncio.run(scenario())
    wait_until(lambda: query(db_url, "SELECT count(*) FROM positions") == [(6,)])
    rows = query(db_url, "SELECT seq, lat, lon, payload->>'satellites' FROM positions ORDER BY seq")
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0][1:] == (22.5, 114.057865, "9")
    wait_until(lambda: query(db_url, "SELECT acked_seq FROM device_latest") == [(6,)])
    assert query(db_url, "SELECT count(*) FROM dead_letters WHERE device_id = 'trk-0808'") == [(0,)]


def test_unknown_terminal_and_wrong_code_are_answered_per_the_standard(db_url, bridge):
    register(db_url, ("trk-0809", "vehicle_tracker"))
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO jt808_terminals (device_id, phone, auth_code)"
            " VALUES ('trk-0809', %s, 'secret')",
            (PHONE,),
        )

    async def scenario() -> None:
        async with Terminal(bridge, phone="099900000001") as term:
            reply = await term.call(MsgId.REGISTER, Register(44, 300, "Z", "Z", "T", 1, "X"))
            assert reply.body == RegisterResponse(1, RegisterResult.NO_SUCH_TERMINAL)
        async with Terminal(bridge) as term:
            reply = await term.call(MsgId.AUTHENTICATE, Authenticate("guess"))
            assert reply.body.result == Result.FAILURE
            assert await term.reader.read(10) == b""  # and the connection is closed

    asyncio.run(scenario())
