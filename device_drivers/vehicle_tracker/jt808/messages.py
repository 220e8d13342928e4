"""JT/T 808 message ids, the header, and the bodies this codec understands (frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum


class MsgId(IntEnum):
    TERMINAL_RESPONSE = 0x0001  # terminal general response
    HEARTBEAT = 0x0002
    LOGOUT = 0x0003
    REGISTER = 0x0100
    AUTHENTICATE = 0x0102
    PARAMETERS = 0x0104  # answer to 0x8104/0x8106
    LOCATION_REPORT = 0x0200
    LOCATION_QUERY_RESPONSE = 0x0201
    LOCATION_BATCH = 0x0704
    PLATFORM_RESPONSE = 0x8001  # platform general response
    RETRANSMIT_REQUEST = 0x8003  # platform asks for missing sub-packages (补传分包请求)
    REGISTER_RESPONSE = 0x8100
    SET_PARAMETERS = 0x8103
    LOCATION_QUERY = 0x8201
    TEMPORARY_TRACKING = 0x8202


class Result(IntEnum):
    """General response result (§8.1, §8.2)."""

    OK = 0
    FAILURE = 1
    BAD_MESSAGE = 2
    UNSUPPORTED = 3
    ALARM_CONFIRMED = 4


class RegisterResult(IntEnum):
    """0x8100 result (§8.6)."""

    OK = 0
    VEHICLE_ALREADY_REGISTERED = 1
    NO_SUCH_VEHICLE = 2
    TERMINAL_ALREADY_REGISTERED = 3
    NO_SUCH_TERMINAL = 4


# Alarm bits (§8.18, table 24) -> the names used in the v1 MQTT contract where one exists.
ALARM_BITS: dict[int, str] = {
    0: "sos",
    1: "overspeed",
    2: "fatigue",
    3: "danger_warning",
    4: "gnss_fault",
    5: "gnss_antenna_cut",
    6: "gnss_antenna_short",
    7: "power_low",
    8: "power_cut",
    9: "display_fault",
    10: "tts_fault",
    11: "camera_fault",
    12: "ic_card_fault",
    13: "overspeed_warning",
    14: "fatigue_warning",
    18: "driving_overtime_today",
    19: "parking_overtime",
    20: "geofence",
    21: "route",
    22: "route_time",
    23: "route_deviation",
    24: "vss_fault",
    25: "fuel_abnormal",
    26: "theft",
    27: "illegal_ignition",
    28: "illegal_move",
    29: "collision",
    30: "rollover",
    31: "illegal_door_open",
}
# Status bits (§8.18, table 25) that matter to dispatch.
STATUS_ACC = 1 << 0
STATUS_POSITIONED = 1 << 1
STATUS_SOUTH = 1 << 2
STATUS_WEST = 1 << 3

# Additional location items (§8.18, table 27) decoded by name; others are kept raw.
EXTRA_ODOMETER = 0x01  # DWORD, 1/10 km
EXTRA_FUEL = 0x02  # WORD, 1/10 L
EXTRA_SIGNAL = 0x30  # BYTE, network signal strength
EXTRA_SATELLITES = 0x31  # BYTE, GNSS satellites in view


@dataclass(frozen=True)
class Header:
    """Message header (§4.4.3). ``version`` is set for 2019 frames (bit 14), else None."""

    msg_id: int
    phone: str  # terminal phone number: 12 BCD digits (2013) or 20 (2019)
    serial: int
    version: int | None = None
    encryption: int = 0
    packet_total: int | None = None  # sub-packaged message (bit 13): total and 1-based index
    packet_index: int | None = None


@dataclass(frozen=True)
class GeneralResponse:
    """0x0001 from a terminal or 0x8001 from the platform."""

    reply_serial: int
    reply_id: int
    result: int


@dataclass(frozen=True)
class Empty:
    """Heartbeat (0x0002), logout (0x0003), location query (0x8201): no body."""


@dataclass(frozen=True)
class Register:
    province: int
    city: int
    manufacturer: str
    model: str
    terminal_id: str
    plate_color: int
    plate: str


@dataclass(frozen=True)
class RegisterResponse:
    reply_serial: int
    result: int
    auth_code: str = ""


@dataclass(frozen=True)
class Authenticate:
    auth_code: str
    imei: str | None = None  # 2019 only
    software_version: str | None = None  # 2019 only


@dataclass(frozen=True)
class LocationReport:
    alarm: int
    status: int
    lat: float  # signed degrees (south negative)
    lon: float  # signed degrees (west negative)
    altitude_m: int
    speed_kmh: float
    heading: int
    time: datetime  # UTC (sent as BCD in GMT+8)
    extras: dict[int, bytes] = field(default_factory=dict)

    @property
    def alarms(self) -> list[str]:
        if not self.alarm:  # nearly every report
            return []
        return [name for bit, name in ALARM_BITS.items() if self.alarm >> bit & 1]

    @property
    def acc_on(self) -> bool:
        return bool(self.status & STATUS_ACC)

    @property
    def positioned(self) -> bool:
        return bool(self.status & STATUS_POSITIONED)

    def _uint(self, item: int) -> int | None:
        raw = self.extras.get(item)
        return int.from_bytes(raw, "big") if raw else None

    @property
    def odometer_km(self) -> float | None:
        v = self._uint(EXTRA_ODOMETER)
        return None if v is None else v / 10

    @property
    def fuel_l(self) -> float | None:
        v = self._uint(EXTRA_FUEL)
        return None if v is None else v / 10

    @property
    def signal(self) -> int | None:
        return self._uint(EXTRA_SIGNAL)

    @property
    def satellites(self) -> int | None:
        return self._uint(EXTRA_SATELLITES)


@dataclass(frozen=True)
class LocationBatch:
    """0x0704: ``kind`` 0 = normal batch, 1 = blind-area (store-and-forward) supplement."""

    kind: int
    reports: tuple[LocationReport, ...]


@dataclass(frozen=True)
class LocationQueryResponse:
    reply_serial: int
    report: LocationReport


@dataclass(frozen=True)
class Parameters:
    """0x8103 (set) and, with ``reply_serial``, 0x0104 (answer): parameter id -> raw value."""

    params: dict[int, bytes]
    reply_serial: int | None = None


@dataclass(frozen=True)
class TemporaryTracking:
    """0x8202: report every ``interval_s`` for ``duration_s`` (interval 0 stops tracking)."""

    interval_s: int
    duration_s: int


@dataclass(frozen=True)
class RetransmitRequest:
    """0x8003: the first serial of a sub-packaged message and the packages still missing."""

    first_serial: int
    package_ids: tuple[int, ...]


@dataclass(frozen=True)
class Raw:
    """A body kept as bytes: a sub-package, or a message id without a decoder."""

    data: bytes


Body = (
    GeneralResponse
    | Empty
    | Register
    | RegisterResponse
    | Authenticate
    | LocationReport
    | LocationBatch
    | LocationQueryResponse
    | Parameters
    | TemporaryTracking
    | RetransmitRequest
    | Raw
)


@dataclass(frozen=True)
class Message:
    header: Header
    body: Body
