"""A simulated JT/T 808 terminal over real TCP -> bridge -> real Mosquitto -> gateway ->
TimescaleDB, plus what an unknown terminal and a wrong auth code get back; then the bridge
without services: against a fake broker that holds PUBACKs back or drops the connection, and
with fakes for MQTT and the socket (answer order, batches, back-pressure, the v1 contract)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from device_drivers.simulator.outbox import Outbox
from device_drivers.vehicle_tracker.jt808.codec import decode, encode, encode_body
from device_drivers.vehicle_tracker.jt808.framing import FrameSplitter
from device_drivers.vehicle_tracker.jt808.messages import (
    Authenticate,
    Empty,
    GeneralResponse,
    Header,
    LocationBatch,
    LocationReport,
    Message,
    MsgId,
    Raw,
    Register,
    RegisterResponse,
    RegisterResult,
    Result,
)
from device_drivers.vehicle_tracker.jt808.session import Terminal as JtTerminal
from ehub.pgcluster import free_port
from gateway import jt808_bridge
from gateway.jt808_bridge import Bridge, Registry, _Connection
from gateway.settings import MqttEndpoint
from schemas.messages import VehicleLocation, parse_payload
from schemas.topics import Channel, DeviceType
from tests.helpers import clear_retained, query, register, wait_until

PHONE = "013912345678"


@pytest.fixture()
def bridge(db_url, mqtt_url, service_mqtt_url):
    ep = MqttEndpoint.parse(service_mqtt_url("ehub-jt808-bridge"))
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = asyncio.Event()
    b = Bridge(Registry(db_url), ep.host, ep.port, endpoint=ep)
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


def test_a_batch_upload_lands_as_one_message_per_fix(db_url, start_gateway, bridge):
    register(db_url, ("trk-0808", "vehicle_tracker"))
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO jt808_terminals (device_id, phone, auth_code)"
            " VALUES ('trk-0808', %s, 'c')",
            (PHONE,),
        )
    start_gateway(db_url)

    async def scenario() -> None:
        async with Terminal(bridge) as term:
            assert (await term.call(MsgId.AUTHENTICATE, Authenticate("c"))).body.result == 0
            batch = LocationBatch(1, tuple(report(22.5 + i / 1000) for i in range(3)))
            reply = await term.call(MsgId.LOCATION_BATCH, batch)
            assert reply.body == GeneralResponse(2, MsgId.LOCATION_BATCH, Result.OK)

    asyncio.run(scenario())
    wait_until(lambda: query(db_url, "SELECT count(*) FROM positions") == [(3,)])
    rows = query(db_url, "SELECT seq, lat FROM positions ORDER BY seq")
    assert rows == [(1, 22.5), (2, 22.501), (3, 22.502)]


def test_a_sub_packaged_batch_is_joined_and_every_package_answered(db_url, start_gateway, bridge):
    register(db_url, ("trk-0808", "vehicle_tracker"))
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO jt808_terminals (device_id, phone, auth_code)"
            " VALUES ('trk-0808', %s, 'c')",
            (PHONE,),
        )
    start_gateway(db_url)
    batch = LocationBatch(1, tuple(report(22.6 + i / 1000) for i in range(40)))
    body = encode_body(Message(Header(MsgId.LOCATION_BATCH, PHONE, 0), batch))
    parts = [body[i : i + 400] for i in range(0, len(body), 400)]
    assert len(parts) >= 3

    async def scenario() -> None:
        async with Terminal(bridge) as term:
            assert (await term.call(MsgId.AUTHENTICATE, Authenticate("c"))).body.result == 0
            first = term.serial + 1
            # Package 2 comes early and again later (a resend): every one is answered.
            for i in (2, 1, 2, *range(3, len(parts) + 1)):
                term.serial = first + i - 1
                h = Header(
                    MsgId.LOCATION_BATCH,
                    PHONE,
                    term.serial,
                    packet_total=len(parts),
                    packet_index=i,
                )
                term.writer.write(encode(Message(h, Raw(parts[i - 1]))))
                await term.writer.drain()
                while not term.pending:
                    data = await asyncio.wait_for(term.reader.read(4096), 10)
                    term.pending += [decode(f) for f in term.splitter.feed(data)]
                reply = term.pending.pop(0)
                assert reply.body == GeneralResponse(term.serial, MsgId.LOCATION_BATCH, Result.OK)

    asyncio.run(scenario())
    wait_until(lambda: query(db_url, "SELECT count(*) FROM positions") == [(40,)])
    assert query(db_url, "SELECT min(lat), max(lat) FROM positions") == [(22.6, 22.639)]


# -- the bridge without services: a fake broker, or fakes for MQTT and the socket ------------
class StubRegistry:
    """Registry stand-in: one terminal, known code, numbering starts at 0."""

    def __init__(self, phone: str = PHONE, device_id: str = "trk-0808") -> None:
        self.terminal = JtTerminal(device_id, phone, "c")

    def lookup(self, phone: str) -> JtTerminal | None:
        return self.terminal if phone == self.terminal.phone else None

    def issue_code(self, term: JtTerminal) -> str:
        return "c"

    def next_seq(self, device_id: str) -> int:
        return 0


class FakeBroker:
    """Just enough of an MQTT 3.1.1 broker to hold PUBACKs back and to drop the client."""

    def __init__(self) -> None:
        self.publishes: list[tuple[int, str, bytes, bool]] = []  # (packet id, topic, payload, dup)
        self.got_publish = asyncio.Event()
        self.connects = 0
        self.auto_ack_retained = True  # answer state messages at once
        self.writer: asyncio.StreamWriter | None = None

    async def start(self) -> int:
        server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.server = server
        return server.sockets[0].getsockname()[1]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                first = (await reader.readexactly(1))[0]
                length, shift = 0, 0
                while True:
                    byte = (await reader.readexactly(1))[0]
                    length |= (byte & 0x7F) << shift
                    shift += 7
                    if not byte & 0x80:
                        break
                body = await reader.readexactly(length)
                kind = first & 0xF0
                if kind == 0x10:
                    self.connects += 1
                    writer.write(b"\x20\x02\x00\x00")
                elif kind == 0x80:
                    writer.write(b"\x90\x03" + body[:2] + b"\x01")
                elif kind == 0x30:
                    n = int.from_bytes(body[:2], "big")
                    pid = int.from_bytes(body[2 + n : 4 + n], "big")
                    topic = body[2 : 2 + n].decode()
                    self.publishes.append((pid, topic, body[4 + n :], bool(first & 0x08)))
                    if first & 0x01 and self.auto_ack_retained:
                        self.ack(pid)
                    self.got_publish.set()
                elif kind == 0xC0:
                    writer.write(b"\xd0\x00")

    def ack(self, pid: int) -> None:
        assert self.writer is not None
        self.writer.write(b"\x40\x02" + pid.to_bytes(2, "big"))

    def drop(self) -> None:
        assert self.writer is not None
        self.writer.transport.abort()

    def data(self) -> list[tuple[int, str, bytes, bool]]:
        return [p for p in self.publishes if p[1].endswith("/location")]


def test_answer_waits_for_the_puback_and_survives_a_broker_reconnect():
    async def scenario() -> None:
        broker = FakeBroker()
        mqtt_port = await broker.start()
        b = Bridge(StubRegistry(), "127.0.0.1", mqtt_port)  # type: ignore[arg-type]
        port, ready = free_port(), asyncio.Event()
        run = asyncio.create_task(b.run("127.0.0.1", port, ready))
        await asyncio.wait_for(ready.wait(), 10)
        async with Terminal(port) as term:
            assert (await term.call(MsgId.AUTHENTICATE, Authenticate("c"))).body.result == 0
            call = asyncio.create_task(term.call(MsgId.LOCATION_REPORT, report(22.5)))
            await asyncio.wait_for(broker.got_publish.wait(), 5)
            await asyncio.sleep(0.3)
            assert not call.done()  # published, not PUBACKed: no answer yet
            [(_, topic, payload, dup)] = broker.data()
            assert topic == "ehub/v1/vehicle_tracker/trk-0808/location" and not dup
            broker.drop()  # the PUBACK never comes on this connection
            await wait_for_async(lambda: len(broker.data()) == 2)
            assert broker.connects == 2
            pid2, topic2, payload2, dup2 = broker.data()[1]
            assert (topic2, payload2, dup2) == (topic, payload, True)  # the same message, DUP
            await asyncio.sleep(0.2)
            assert not call.done()
            broker.ack(pid2)
            reply = await asyncio.wait_for(call, 5)
            assert reply.body == GeneralResponse(2, MsgId.LOCATION_REPORT, Result.OK)
            assert json.loads(payload)["seq"] == 1
        run.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await run
        broker.server.close()

    asyncio.run(scenario())


async def wait_for_async(pred, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


class FakePublisher:
    def __init__(self) -> None:
        self.connected = True
        self.sent: list[tuple[str, bytes, bool, Any]] = []  # topic, payload, retain, on_ack

    def publish(self, topic, payload, *, retain=False, on_ack=None) -> None:
        self.sent.append((topic, payload, retain, on_ack))

    def ack(self, i: int) -> None:
        on_ack = self.sent[i][3]
        assert on_ack is not None
        on_ack()


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.closed = self.paused = False

    def write(self, data) -> None:
        self.written.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name, default=None):
        return ("127.0.0.1", 40000) if name == "peername" else default

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def answers(self) -> list[tuple[int, int, int]]:
        """(answered serial, answered id, result) of everything written so far."""
        out = []
        for f in FrameSplitter().feed(b"".join(self.written)):
            body = decode(f).body
            assert isinstance(body, GeneralResponse)
            out.append((body.reply_serial, body.reply_id, body.result))
        return out


def frame(msg_id: int, body, serial: int) -> bytes:
    return encode(Message(Header(msg_id, PHONE, serial), body))


def connected_bridge() -> tuple[Bridge, FakePublisher, _Connection, FakeTransport]:
    b = Bridge(StubRegistry(), "127.0.0.1", 1883)  # type: ignore[arg-type]
    b.mqtt = pub = FakePublisher()
    b.outboxes["trk-0808"] = Outbox(0)  # as if loaded when an earlier connection authenticated
    conn, transport = _Connection(b), FakeTransport()
    conn.connection_made(transport)
    return b, pub, conn, transport


def test_answers_wait_for_all_their_pubacks_and_keep_the_frames_order():
    async def scenario() -> None:
        _, pub, conn, transport = connected_bridge()
        batch = LocationBatch(0, (report(22.5), report(22.6), report(22.7)))
        conn.data_received(
            frame(MsgId.AUTHENTICATE, Authenticate("c"), 1)
            + frame(MsgId.LOCATION_REPORT, report(22.4), 2)
            + frame(MsgId.HEARTBEAT, Empty(), 3)  # nothing to publish, but after serial 2
            + frame(MsgId.LOCATION_BATCH, batch, 4)
        )
        topics = [t.rsplit("/", 1)[1] for t, *_ in pub.sent]
        assert topics == ["state", "location", "location", "location", "location"]
        assert transport.written == []  # nothing is PUBACKed yet
        for i in (4, 3, 2):  # the batch's three, in reverse
            pub.ack(i)
        assert transport.answers() == []  # serials 1 and 2 still wait
        pub.ack(0)
        assert transport.answers() == [(1, MsgId.AUTHENTICATE, 0)]
        pub.ack(1)
        assert transport.answers() == [
            (1, MsgId.AUTHENTICATE, 0),
            (2, MsgId.LOCATION_REPORT, 0),
            (3, MsgId.HEARTBEAT, 0),
            (4, MsgId.LOCATION_BATCH, 0),
        ]
        seqs = [json.loads(p)["seq"] for t, p, *_ in pub.sent if t.endswith("location")]
        assert seqs == [1, 2, 3, 4]

    asyncio.run(scenario())


def test_without_the_broker_a_fix_is_not_answered_and_the_connection_closes():
    async def scenario() -> None:
        _, pub, conn, transport = connected_bridge()
        conn.data_received(frame(MsgId.AUTHENTICATE, Authenticate("c"), 1))
        pub.ack(0)
        pub.connected = False
        conn.data_received(frame(MsgId.LOCATION_REPORT, report(22.4), 2))
        assert transport.closed and transport.answers() == [(1, MsgId.AUTHENTICATE, 0)]
        assert len(pub.sent) == 1  # nothing published, nothing numbered
        conn.connection_lost(None)
        assert pub.sent[-1][:3] == (
            "ehub/v1/vehicle_tracker/trk-0808/state",
            b'{"v": 1, "state": "offline"}',
            True,
        )

    asyncio.run(scenario())


def test_a_terminal_owing_too_many_answers_is_not_read_from(monkeypatch):
    monkeypatch.setattr(jt808_bridge, "MAX_UNANSWERED", 3)

    async def scenario() -> None:
        _, pub, conn, transport = connected_bridge()
        conn.data_received(frame(MsgId.AUTHENTICATE, Authenticate("c"), 1))
        pub.ack(0)
        conn.data_received(
            b"".join(frame(MsgId.LOCATION_REPORT, report(22.4), s) for s in range(2, 8))
        )
        assert len(pub.sent) == 4 and transport.paused  # 3 handled, 3 wait in the backlog
        for i in (1, 2, 3):
            pub.ack(i)
        assert len(pub.sent) == 7 and transport.paused  # the backlog, handled in turn
        for i in (4, 5, 6):
            pub.ack(i)
        assert [a[0] for a in transport.answers()] == [1, 2, 3, 4, 5, 6, 7]
        assert not transport.paused

    asyncio.run(scenario())


def test_a_long_burst_of_frames_in_one_read_is_answered_in_order():
    async def scenario() -> None:
        _, pub, conn, transport = connected_bridge()
        conn.data_received(frame(MsgId.AUTHENTICATE, Authenticate("c"), 1))
        pub.ack(0)
        burst = [frame(MsgId.HEARTBEAT, Empty(), s) for s in range(2, 3000)]
        burst[500] = frame(MsgId.LOCATION_REPORT, report(22.4), 502)  # one waits for a PUBACK
        conn.data_received(b"".join(burst))
        assert len(transport.answers()) == 501
        pub.ack(1)
        assert [a[0] for a in transport.answers()] == list(range(1, 3000))

    asyncio.run(scenario())


fixes = st.builds(
    LocationReport,
    alarm=st.integers(0, 2**32 - 1),
    status=st.integers(0, 2**32 - 1).map(lambda s: s & ~0b1100),
    lat=st.integers(-90_000_000, 90_000_000).map(lambda v: v / 1e6),
    lon=st.integers(-180_000_000, 180_000_000).map(lambda v: v / 1e6),
    altitude_m=st.integers(-32768, 32767),
    speed_kmh=st.integers(0, 0xFFFF).map(lambda v: v / 10),
    heading=st.integers(0, 0xFFFF),
    time=st.datetimes(
        min_value=datetime(2015, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC)
    ).map(lambda t: t.replace(microsecond=0)),
    extras=st.fixed_dictionaries(
        {},
        optional={
            0x01: st.integers(0, 100_000_000).map(lambda v: v.to_bytes(4, "big")),  # odometer
            0x02: st.integers(0, 0xFFFF).map(lambda v: v.to_bytes(2, "big")),  # fuel
            0x31: st.integers(0, 255).map(lambda v: bytes([v])),  # satellites
            0xE1: st.binary(max_size=8),  # vendor item, not published
        },
    ),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(fixes, min_size=1, max_size=4))
def test_what_the_bridge_publishes_is_a_valid_vehicle_location(reports):
    async def scenario() -> list[bytes]:
        _, pub, conn, _ = connected_bridge()
        conn.data_received(frame(MsgId.AUTHENTICATE, Authenticate("c"), 1))
        body = reports[0] if len(reports) == 1 else LocationBatch(0, tuple(reports))
        msg_id = MsgId.LOCATION_REPORT if len(reports) == 1 else MsgId.LOCATION_BATCH
        conn.data_received(frame(msg_id, body, 2))
        return [p for t, p, *_ in pub.sent if t.endswith("/location")]

    payloads = asyncio.run(scenario())
    assert len(payloads) == len(reports)
    for payload, rep in zip(payloads, reports, strict=True):
        v1 = parse_payload(DeviceType.VEHICLE_TRACKER, Channel.LOCATION, payload)
        assert isinstance(v1, VehicleLocation)
        assert (v1.ts, v1.lat, v1.lon, v1.acc_on) == (rep.time, rep.lat, rep.lon, rep.acc_on)


def test_overdue_messages_are_resent_a_window_at_a_time(monkeypatch):
    monkeypatch.setattr(jt808_bridge, "RESEND_WINDOW", 2)

    async def scenario() -> None:
        b, pub, _, _ = connected_bridge()
        box = b.outboxes["trk-0808"]
        for i in range(6):
            seq, _ = box.add(
                "ehub/v1/vehicle_tracker/trk-0808/location", {"i": i}, datetime.now(UTC)
            )
            box.mark_sent(seq, time.monotonic() - 60 if seq < 6 else time.monotonic())
        sweep = asyncio.create_task(b.resend_overdue_once())
        await asyncio.sleep(0.01)
        assert [json.loads(p)["seq"] for _, p, *_ in pub.sent] == [1, 2]  # the first window
        pub.ack(0)
        await asyncio.sleep(0.01)
        assert len(pub.sent) == 2  # until all of it is PUBACKed
        box.ack(3)  # meanwhile the gateway acks up to 3: no need to send 3 again
        pub.ack(1)
        await asyncio.sleep(0.01)
        assert [json.loads(p)["seq"] for _, p, *_ in pub.sent] == [1, 2, 4]  # window [3, 4]
        pub.ack(2)
        await asyncio.sleep(0.01)
        assert [json.loads(p)["seq"] for _, p, *_ in pub.sent] == [1, 2, 4, 5]  # 6 is not due
        pub.ack(3)
        await asyncio.wait_for(sweep, 1)
        assert box.overdue(time.monotonic(), 10.0) == []

    asyncio.run(scenario())
