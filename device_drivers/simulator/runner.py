"""Run a simulated fleet against a real broker: one MQTT connection per device (aiomqtt).

Each device connects with its own client id, a persistent session and a retained ``offline``
Will on its ``state`` topic, announces ``online``, subscribes to its ``ack`` topic and publishes
at its share of the fleet rate. Every message stays in the device's ``Outbox`` until an ack
covers it and is resent after every reconnect, so a broker or gateway crash loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import aiomqtt

from device_drivers.agent import DeviceAgent, Message
from device_drivers.bt_printer.driver import DriverSettings, PrinterDriver
from device_drivers.bt_printer.fake import FakePrinter, FakeTransport
from device_drivers.mobile_terminal.agent import TerminalAgent
from device_drivers.mobile_terminal.printing import PrintSpooler
from device_drivers.simulator.fleet import SimDevice
from device_drivers.simulator.outbox import Outbox
from device_drivers.vehicle_tracker.jt808.terminal import (
    Jt808Terminal,
    phone_for,
    report_from_fix,
)
from schemas.messages import Command
from schemas.topics import Channel, DeviceType, device_topic

log = logging.getLogger(__name__)
CST = timezone(timedelta(hours=8), "CST")  # devices in Shenzhen stamp local time


def printer_mac(printer_id: str) -> str:
    """A stable Bluetooth address for a simulated printer (what its label would show)."""
    digest = hashlib.sha256(printer_id.encode()).digest()
    return ":".join(f"{b:02X}" for b in (0xDC, 0x0D, *digest[:4]))


@dataclass
class DeviceRun:
    device: DeviceAgent
    outbox: Outbox = field(default_factory=Outbox)
    spooler: PrintSpooler | None = None
    connects: int = 0
    resent: int = 0
    connected: bool = False
    terminal: Jt808Terminal | None = None  # set when this tracker speaks JT/T 808

    @property
    def published(self) -> int:
        return self.terminal.queued if self.terminal else self.outbox.seq

    @property
    def pending(self) -> int:
        return len(self.terminal.unanswered) if self.terminal else len(self.outbox)


@dataclass
class FleetReport:
    devices: int
    published: int
    acked: int
    pending: int
    resent: int
    reconnects: int
    by_type: dict[str, dict[str, int]]
    per_device: dict[str, dict[str, int]]

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__.items())


class FleetRunner:
    def __init__(
        self,
        fleet: list[Any],
        host: str,
        port: int,
        rate: float,
        *,
        protocol: aiomqtt.ProtocolVersion = aiomqtt.ProtocolVersion.V311,
        connect_concurrency: int = 50,
        resend_after: float = 10.0,
        jt808: tuple[str, int] | None = None,
        username: str | None = None,
        password: str | None = None,
        device_passwords: Mapping[str, str] | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        # Like real devices, each simulated device may have its own broker account (username =
        # client id = device id, from `ehub admin broker-credentials`); the others use the
        # shared username/password (a test broker's harness account).
        self.username, self.password = username, password
        self.device_passwords = dict(device_passwords or {})
        self.tls_context = tls_context
        self.resend_after = resend_after
        self.jt808 = jt808  # trackers connect to this JT/T 808 bridge instead of MQTT
        self.runs = {d.device_id: DeviceRun(d) for d in fleet}
        self._printers: dict[str, PrinterDriver] = {}
        for run in self.runs.values():
            if isinstance(run.device, TerminalAgent):
                run.spooler = PrintSpooler(run.device, self._printer)
        self.host, self.port = host, port
        self.interval = max(len(fleet), 1) / rate if rate > 0 else float("inf")
        self.protocol = protocol
        self._connect_gate = asyncio.Semaphore(connect_concurrency)
        self._producing = asyncio.Event()
        self._stop = asyncio.Event()
        self._finish = asyncio.Event()

    # -- stats ----------------------------------------------------------------------------
    def _credentials(self, device_id: str) -> tuple[str | None, str | None]:
        own = self.device_passwords.get(device_id)
        if own is not None:
            return device_id, own
        return self.username, self.password

    def report(self) -> FleetReport:
        by_type: dict[str, dict[str, int]] = {}
        per_device: dict[str, dict[str, int]] = {}
        for r in self.runs.values():
            t = by_type.setdefault(
                r.device.device_type.value,
                {"devices": 0, "published": 0, "pending": 0, "online": 0},
            )
            t["devices"] += 1
            t["published"] += r.published
            t["pending"] += r.pending
            t["online"] += int(r.connected)
            per_device[r.device.device_id] = {
                "published": r.published,
                "acked": r.published - r.pending,
                "pending": r.pending,
            }
        return FleetReport(
            devices=len(self.runs),
            published=sum(r.published for r in self.runs.values()),
            acked=sum(r.published - r.pending for r in self.runs.values()),
            pending=sum(r.pending for r in self.runs.values()),
            resent=sum(r.resent for r in self.runs.values()),
            reconnects=sum(max(0, r.connects - 1) for r in self.runs.values()),
            by_type=by_type,
            per_device=per_device,
        )

    def pending(self) -> int:
        return sum(r.pending for r in self.runs.values())

    def finish(self) -> None:
        """End a run started without a duration: drain the outboxes, then disconnect."""
        self._finish.set()

    def _printer(self, printer_id: str) -> PrinterDriver:
        """The terminal's Bluetooth link to its printer: an in-memory peripheral here."""
        if printer_id not in self._printers:
            mac = printer_mac(printer_id)
            self._printers[printer_id] = PrinterDriver(
                FakeTransport(FakePrinter(mac)), DriverSettings(address=mac, chunk_interval_s=0)
            )
        return self._printers[printer_id]

    # -- running --------------------------------------------------------------------------
    async def run(self, duration: float | None, drain_timeout: float = 30.0) -> FleetReport:
        """Publish for ``duration`` seconds (forever if None), then wait up to ``drain_timeout``
        for every message to be acked, announce ``offline`` and disconnect."""
        self._producing.set()
        asyncio.get_running_loop().set_exception_handler(_quiet_disconnects)
        tasks = [asyncio.create_task(self._device(r)) for r in self.runs.values()]
        if self.jt808:
            for r in self.runs.values():
                if r.device.device_type is DeviceType.VEHICLE_TRACKER:
                    r.terminal = Jt808Terminal(phone_for(r.device.device_id), *self.jt808)
                    tasks.append(asyncio.create_task(r.terminal.run(self._stop)))
        try:
            # Until finish() (or Ctrl-C) when no duration is given.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._finish.wait(), duration)
            self._producing.clear()
            deadline = time.monotonic() + drain_timeout
            while self.pending() and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
        finally:
            self._stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
        return self.report()

    async def _device(self, run: DeviceRun) -> None:
        if (
            self.jt808
            and isinstance(run.device, SimDevice)
            and run.device.device_type is (DeviceType.VEHICLE_TRACKER)
        ):
            await self._jt808_fixes(run.device, run)
            return
        dev = run.device
        state_topic = device_topic(dev.device_type, dev.device_id, Channel.STATE)
        will = aiomqtt.Will(
            state_topic, json.dumps({"v": 1, "state": "offline"}), qos=1, retain=True
        )
        backoff = 0.5
        # Spread the fleet's connects and first messages over one interval.
        await asyncio.sleep(random.uniform(0, min(self.interval, 2.0)))
        while not self._stop.is_set():
            try:
                async with self._connect_gate:
                    client = aiomqtt.Client(
                        self.host,
                        self.port,
                        identifier=dev.device_id,
                        username=self._credentials(dev.device_id)[0],
                        password=self._credentials(dev.device_id)[1],
                        tls_context=self.tls_context,
                        clean_session=False,
                        will=will,
                        protocol=self.protocol,
                        keepalive=20,
                        timeout=10,
                    )
                    await client.__aenter__()
                try:
                    run.connects += 1
                    run.connected = True
                    backoff = 0.5
                    await self._session(client, run, state_topic)
                finally:
                    run.connected = False
                    with contextlib.suppress(Exception):
                        await client.__aexit__(None, None, None)
            except aiomqtt.MqttError as exc:
                run.connected = False
                if run.spooler is not None:
                    # Printing needs no network: an on-the-spot decision made offline is
                    # printed now; its report waits in the agent for the link.
                    run.spooler.poll()
                log.debug("%s: %s; reconnecting in %.1fs", dev.device_id, exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _session(self, client: aiomqtt.Client, run: DeviceRun, state_topic: str) -> None:
        dev = run.device
        await client.subscribe(device_topic(dev.device_type, dev.device_id, Channel.ACK), qos=1)
        await client.subscribe(device_topic(dev.device_type, dev.device_id, Channel.CMD), qos=1)
        online = {"v": 1, "state": "online", "ts": datetime.now(UTC).isoformat()}
        await client.publish(state_topic, json.dumps(online), qos=1, retain=True)
        listener = asyncio.create_task(self._listen(client, run))
        try:
            # Contract §1: resend everything unacked after (re)connecting.
            await self._resend(client, run, run.outbox.pending())
            while not self._stop.is_set():
                if listener.done():  # the connection dropped while we were idle
                    raise aiomqtt.MqttError("connection lost")
                await self._resend(
                    client, run, run.outbox.overdue(time.monotonic(), self.resend_after)
                )
                if self._producing.is_set():
                    now = datetime.now(CST)
                    message = dev.next_message(now)
                    await self._publish(client, run, [message] if message else [])
                await self._publish(client, run, dev.drain(datetime.now(CST)))
                await self._sleep(
                    min(
                        self.interval * random.uniform(0.8, 1.2),
                        1.0 if not self._producing.is_set() else 3600,
                    )
                )
            if not run.outbox:  # a clean goodbye; otherwise leave it to the Will
                offline = {"v": 1, "state": "offline", "ts": datetime.now(UTC).isoformat()}
                await client.publish(state_topic, json.dumps(offline), qos=1, retain=True)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await listener

    async def _publish(
        self, client: aiomqtt.Client, run: DeviceRun, messages: list[Message]
    ) -> None:
        """Number, keep (outbox) and publish what the agent produced; start its print jobs."""
        dev = run.device
        for channel, fields in messages:
            topic = device_topic(dev.device_type, dev.device_id, channel)
            seq, payload = run.outbox.add(topic, fields, datetime.now(CST))
            await client.publish(topic, payload, qos=1)
            run.outbox.mark_sent(seq, time.monotonic())
        if run.spooler is not None:
            run.spooler.poll()

    async def _jt808_fixes(self, dev: SimDevice, run: DeviceRun) -> None:
        """Feed a JT/T 808 terminal the tracker's fixes (its status has no 808 equivalent)."""
        await asyncio.sleep(random.uniform(0, min(self.interval, 2.0)))
        while not self._stop.is_set():
            if self._producing.is_set() and run.terminal is not None:
                now = datetime.now(CST)
                channel, fields = dev.next_message(now)
                if channel is Channel.LOCATION:
                    run.terminal.queue(report_from_fix(fields, now))
            await self._sleep(self.interval * random.uniform(0.8, 1.2))

    @staticmethod
    async def _resend(
        client: aiomqtt.Client, run: DeviceRun, messages: list[tuple[int, str, bytes]]
    ) -> None:
        for seq, topic, payload in messages:
            await client.publish(topic, payload, qos=1)
            run.outbox.mark_sent(seq, time.monotonic())
            run.resent += 1

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=min(seconds, 3600))

    async def _listen(self, client: aiomqtt.Client, run: DeviceRun) -> None:
        ack_topic = device_topic(run.device.device_type, run.device.device_id, Channel.ACK)
        cmd_topic = device_topic(run.device.device_type, run.device.device_id, Channel.CMD)
        async for message in client.messages:
            if message.topic.value == cmd_topic:
                await self._command(client, run, message.payload)
                continue
            if message.topic.value != ack_topic:  # some brokers replay retained state here
                continue
            try:
                seq = json.loads(message.payload)["seq"]
            except (ValueError, KeyError, TypeError):
                log.warning("%s: unreadable ack %r", run.device.device_id, message.payload)
                continue
            if isinstance(seq, int):
                released = run.outbox.release(seq)
                acked = getattr(run.device, "acked", None)
                if acked is not None and released:
                    # A dock frees camera storage only for manifests already committed.
                    acked([json.loads(p) for p in released], datetime.now(CST))

    async def _command(self, client: aiomqtt.Client, run: DeviceRun, raw: Any) -> None:
        try:
            command = Command.model_validate_json(raw)
        except ValueError as exc:
            # Nothing to answer: without a readable cmd_id there is no cmd_result to give.
            log.warning("%s: unreadable command: %s", run.device.device_id, exc)
            return
        answers = run.device.on_command(command, datetime.now(CST))
        await self._publish(client, run, answers)


def _quiet_disconnects(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """aiomqtt leaves a future holding the disconnect reason; after a broker restart nobody
    awaits it. That is expected here (the device reconnects), not an error to print."""
    if isinstance(context.get("exception"), aiomqtt.MqttError):
        log.debug("ignored: %s", context.get("exception"))
        return
    loop.default_exception_handler(context)
