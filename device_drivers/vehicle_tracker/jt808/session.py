"""One JT/T 808 terminal connection as a pure state machine: message in -> replies, publishes.

No sockets, database or clock inside: the registry lookup and auth-code issuing are injected,
``now`` is passed in, and ``handle`` returns what the IO shell must do (frames to send, v1
messages to publish under the device's identity, whether to close). States::

    new --0x0100 known terminal--> registered --0x0102 right code--> authenticated
    any --0x0102 right code (code kept from an earlier registration)--> authenticated

Data (0x0200, 0x0704, 0x0002) before authentication is refused with a failure response
(§8.1, "not authenticated"), never published.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from device_drivers.vehicle_tracker.jt808.codec import decode_body
from device_drivers.vehicle_tracker.jt808.framing import CodecError
from device_drivers.vehicle_tracker.jt808.messages import (
    Authenticate,
    Body,
    GeneralResponse,
    Header,
    LocationBatch,
    LocationReport,
    Message,
    MsgId,
    RegisterResponse,
    RegisterResult,
    Result,
    RetransmitRequest,
)
from device_drivers.vehicle_tracker.jt808.reassembly import Reassembler
from schemas.messages import TrackerAlarm
from schemas.topics import Channel

_V1_ALARMS = {a.value for a in TrackerAlarm}


@dataclass(frozen=True)
class Terminal:
    """A registered vehicle tracker as the registry knows it."""

    device_id: str
    phone: str
    auth_code: str | None  # None until the terminal has registered once


@dataclass
class Output:
    replies: list[Message] = field(default_factory=list)
    publish: list[tuple[Channel, dict[str, Any]]] = field(default_factory=list)
    close: bool = False
    note: str = ""  # what happened, for the log


@lru_cache(maxsize=1024)
def _isoformat(t: datetime) -> str:
    # Reports arriving together share a few distinct seconds (see codec.time_decode).
    return t.isoformat()


def to_v1_location(rep: LocationReport) -> dict[str, Any]:
    """A 0x0200 report as the fields of a v1 ``VehicleLocation`` (without v/seq)."""
    fields: dict[str, Any] = {
        "ts": _isoformat(rep.time),
        "lat": rep.lat,
        "lon": rep.lon,
        "speed_kmh": min(rep.speed_kmh, 400.0),
        "heading_deg": float(rep.heading % 360),
        "altitude_m": float(max(-500, min(9000, rep.altitude_m))),
        "acc_on": rep.acc_on,
        "alarms": [a for a in rep.alarms if a in _V1_ALARMS] if rep.alarm else [],
    }
    if not rep.extras:
        return fields
    satellites, odometer_km, fuel_l = rep.satellites, rep.odometer_km, rep.fuel_l
    if satellites is not None:
        fields["satellites"] = min(satellites, 99)
    if odometer_km is not None:
        fields["odometer_km"] = odometer_km
    if fuel_l is not None:
        fields["fuel_l"] = min(fuel_l, 2000.0)
    return fields


class Session:
    def __init__(
        self,
        lookup: Callable[[str], Terminal | None],
        issue_code: Callable[[Terminal], str],
    ) -> None:
        self._lookup = lookup
        self._issue_code = issue_code
        self.packages = Reassembler(decode_body)
        self.terminal: Terminal | None = None
        self.authenticated = False
        self._serial = 0  # our own message serial, per connection (§4.4.3)

    @property
    def device_id(self) -> str | None:
        return self.terminal.device_id if self.terminal and self.authenticated else None

    def _reply(self, to: Header, msg_id: int, body: Body) -> Message:
        self._serial = (self._serial + 1) & 0xFFFF
        return Message(Header(msg_id, to.phone, self._serial, to.version), body)

    def _general(self, to: Header, result: Result) -> Message:
        return self._reply(
            to, MsgId.PLATFORM_RESPONSE, GeneralResponse(to.serial, to.msg_id, int(result))
        )

    def handle(self, msg: Message, now: datetime) -> Output:
        h, body = msg.header, msg.body
        if h.packet_total is not None:
            return self._package(msg, now)
        mid = h.msg_id
        if mid == MsgId.LOCATION_REPORT and self.authenticated and isinstance(body, LocationReport):
            # The bulk of the traffic, so tested first (no other branch takes this id).
            return Output(
                [self._general(h, Result.OK)],
                [(Channel.LOCATION, to_v1_location(body))],
                note="location",
            )
        if mid == MsgId.REGISTER:
            return self._register(h)
        if mid == MsgId.AUTHENTICATE and isinstance(body, Authenticate):
            return self._authenticate(h, body)
        if mid == MsgId.TERMINAL_RESPONSE:
            return Output(note="terminal response")
        if not self.authenticated:
            return Output([self._general(h, Result.FAILURE)], note="refused: not authenticated")
        if mid == MsgId.HEARTBEAT:
            return Output([self._general(h, Result.OK)], note="heartbeat")
        if mid == MsgId.LOGOUT:
            self.authenticated = False
            return Output([self._general(h, Result.OK)], close=True, note="logout")
        if mid == MsgId.LOCATION_BATCH and isinstance(body, LocationBatch):
            return Output(
                [self._general(h, Result.OK)],
                [(Channel.LOCATION, to_v1_location(r)) for r in body.reports],
                note=f"batch of {len(body.reports)}",
            )
        return Output([self._general(h, Result.UNSUPPORTED)], note=f"unsupported 0x{mid:04X}")

    def _package(self, msg: Message, now: datetime) -> Output:
        """One package of a sub-packaged message: each is answered on its own (§8.2); the
        message is handled when its last package is in, and missing ones are asked for."""
        h = msg.header
        if not self.authenticated:
            return Output([self._general(h, Result.FAILURE)], note="refused: not authenticated")
        t = now.timestamp()
        whole: Message | None = None
        failure: CodecError | None = None
        try:
            whole = self.packages.add(msg, t)
        except CodecError as exc:
            failure = exc
        asks = [
            self._reply(h, MsgId.RETRANSMIT_REQUEST, RetransmitRequest(m.first_serial, m.indices))
            for m in self.packages.due(t)[0]
        ]
        if failure is not None:
            return Output([self._general(h, Result.BAD_MESSAGE), *asks], note=f"package: {failure}")
        ok = self._general(h, Result.OK)
        if whole is None:
            return Output([ok, *asks], note=f"package {h.packet_index}/{h.packet_total}")
        inner = self.handle(whole, now)
        # The joined message's own answer would name a serial the terminal never sent alone:
        # what it produced is published, and this last package's answer waits for that.
        return Output([ok, *asks], inner.publish, inner.close, f"joined: {inner.note}")

    def _register(self, h: Header) -> Output:
        terminal = self._lookup(h.phone)
        if terminal is None:
            reply = self._reply(
                h,
                MsgId.REGISTER_RESPONSE,
                RegisterResponse(h.serial, RegisterResult.NO_SUCH_TERMINAL),
            )
            return Output([reply], note=f"register refused: unknown terminal {h.phone}")
        code = self._issue_code(terminal)
        self.terminal = Terminal(terminal.device_id, terminal.phone, code)
        reply = self._reply(
            h, MsgId.REGISTER_RESPONSE, RegisterResponse(h.serial, RegisterResult.OK, code)
        )
        return Output([reply], note=f"registered {terminal.device_id}")

    def _authenticate(self, h: Header, body: Authenticate) -> Output:
        terminal = self._lookup(h.phone)
        known = self.terminal.auth_code if self.terminal else None
        expected = known or (terminal.auth_code if terminal else None)
        if terminal is None or not expected or body.auth_code != expected:
            self.authenticated = False
            return Output(
                [self._general(h, Result.FAILURE)],
                close=True,
                note=f"authentication failed for {h.phone}",
            )
        self.terminal = Terminal(terminal.device_id, terminal.phone, expected)
        self.authenticated = True
        return Output([self._general(h, Result.OK)], note=f"authenticated {terminal.device_id}")
