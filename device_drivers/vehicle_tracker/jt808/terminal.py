"""A simulated JT/T 808 vehicle terminal (asyncio TCP), for the fleet simulator and the demo.

Registers once (keeping the auth code), authenticates on every connection, then sends each
fix as a 0x0200 location report and waits for the platform's 0x8001 answer; a fix is kept
and resent until it is answered OK, across reconnects, as real terminals do (§8.18).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from datetime import datetime
from typing import Any

from device_drivers.vehicle_tracker.jt808.codec import decode, encode
from device_drivers.vehicle_tracker.jt808.framing import CodecError, FrameSplitter
from device_drivers.vehicle_tracker.jt808.messages import (
    EXTRA_FUEL,
    EXTRA_ODOMETER,
    EXTRA_SATELLITES,
    STATUS_ACC,
    STATUS_POSITIONED,
    Authenticate,
    Body,
    GeneralResponse,
    Header,
    LocationReport,
    Message,
    MsgId,
    Register,
    RegisterResponse,
)

ALARM_BIT = {
    "sos": 0,
    "overspeed": 1,
    "fatigue": 2,
    "gnss_fault": 4,
    "power_low": 7,
    "power_cut": 8,
    "collision": 29,
    "rollover": 30,
}


def phone_for(device_id: str) -> str:
    """A deterministic 12-digit terminal number for a simulated tracker ("sim-trk-0007")."""
    digits = "".join(c for c in device_id if c.isdigit())[-8:]
    return f"0139{int(digits or 0):08d}"


def report_from_fix(fix: dict[str, Any], t: datetime) -> LocationReport:
    """The simulator's v1 vehicle fix as a JT/T 808 location report."""
    alarm = 0
    for name in fix.get("alarms", []):
        alarm |= 1 << ALARM_BIT.get(name, 3)
    extras: dict[int, bytes] = {}
    if fix.get("odometer_km") is not None:
        extras[EXTRA_ODOMETER] = round(fix["odometer_km"] * 10).to_bytes(4, "big")
    if fix.get("fuel_l") is not None:
        extras[EXTRA_FUEL] = round(fix["fuel_l"] * 10).to_bytes(2, "big")
    if fix.get("satellites") is not None:
        extras[EXTRA_SATELLITES] = bytes([fix["satellites"]])
    status = STATUS_POSITIONED | (STATUS_ACC if fix.get("acc_on") else 0)
    return LocationReport(
        alarm,
        status,
        fix["lat"],
        fix["lon"],
        round(fix.get("altitude_m", 0)),
        round(fix["speed_kmh"], 1),
        round(fix["heading_deg"]) % 360,
        t.replace(microsecond=0),
        extras,
    )


class Jt808Terminal:
    def __init__(self, phone: str, host: str, port: int) -> None:
        self.phone, self.host, self.port = phone, host, port
        self.auth_code: str | None = None
        self.unanswered: deque[LocationReport] = deque()
        self.queued = 0  # fixes handed to this terminal so far
        self._serial = 0

    def queue(self, report: LocationReport) -> None:
        self.unanswered.append(report)
        self.queued += 1

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, (register,) authenticate and drain the queue until ``stop``; reconnect."""
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                await asyncio.sleep(1.0)
                continue
            try:
                await self._session(reader, writer, stop)
            except (OSError, TimeoutError, CodecError, asyncio.IncompleteReadError):
                await asyncio.sleep(0.5)
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()

    async def _call(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        splitter: FrameSplitter,
        msg_id: int,
        body: Body,
    ) -> Message:
        self._serial = (self._serial + 1) & 0xFFFF
        writer.write(encode(Message(Header(msg_id, self.phone, self._serial), body)))
        await writer.drain()
        while True:
            data = await asyncio.wait_for(reader.read(4096), timeout=30)
            if not data:
                raise ConnectionError("platform closed the connection")
            frames = splitter.feed(data)
            if frames:
                return decode(frames[-1])

    async def _session(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, stop: asyncio.Event
    ) -> None:
        splitter = FrameSplitter()
        if self.auth_code is None:
            reply = await self._call(
                reader,
                writer,
                splitter,
                MsgId.REGISTER,
                Register(44, 300, "EHUB", "SIM-808", self.phone[-7:], 1, "粤B" + self.phone[-5:]),
            )
            if not isinstance(reply.body, RegisterResponse) or reply.body.result != 0:
                raise ConnectionError(f"registration refused: {reply.body}")
            self.auth_code = reply.body.auth_code
        reply = await self._call(
            reader, writer, splitter, MsgId.AUTHENTICATE, Authenticate(self.auth_code)
        )
        if not isinstance(reply.body, GeneralResponse) or reply.body.result != 0:
            self.auth_code = None  # register again next time
            raise ConnectionError("authentication refused")
        while not stop.is_set():
            if not self.unanswered:
                await asyncio.sleep(0.05)
                continue
            report = self.unanswered[0]
            reply = await self._call(reader, writer, splitter, MsgId.LOCATION_REPORT, report)
            if isinstance(reply.body, GeneralResponse) and reply.body.result == 0:
                self.unanswered.popleft()
