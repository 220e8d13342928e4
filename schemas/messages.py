"""Pydantic v2 models of every v1 MQTT payload, and the table that maps a topic to its model.

Every upstream data message carries the envelope ``{"v": 1, "seq": int, "ts": RFC 3339}``.
Models are strict: unknown fields, NaN/Infinity, strings where numbers belong, out-of-range
coordinates, malformed device ids, NUL characters in text and JSON nested deeper than
``MAX_JSON_DEPTH`` are all rejected with the field (or the reason) that is wrong.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from enum import StrEnum
from itertools import accumulate
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from schemas.documents import Document, OnSpotDecision
from schemas.documents.common import DocNumber, Payment, Remedies, Subject
from schemas.topics import DEVICE_ID_PATTERN, Channel, DeviceType

MAX_SEQ = 2**63 - 1
# Device clocks outside this window are not skew but garbage (an unset RTC reads 1970 or 2000):
# such messages are rejected so they cannot create absurd hypertable chunks.
TS_MIN = datetime(2015, 1, 1, tzinfo=UTC)
TS_MAX = datetime(2100, 1, 1, tzinfo=UTC)

# Text may hold anything but NUL: PostgreSQL's text and jsonb cannot store U+0000 (jsonb refuses
# the "\u0000" escape), so a message carrying one could never be stored. Refusing it here, in
# the contract, makes it a ``schema`` dead letter instead of a row the database rejects.
NO_NUL = r"^[^\x00]*$"
DeviceId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]
OfficerId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_NUL)]
Text = Annotated[str, StringConstraints(max_length=1024, pattern=NO_NUL)]
Percent = Annotated[float, Field(ge=0, le=100)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
Heading = Annotated[float, Field(ge=0, lt=360)]
Speed = Annotated[float, Field(ge=0, le=400)]
Altitude = Annotated[float, Field(ge=-500, le=9000)]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
# A Bluetooth device address as printed on a printer's label: six hex pairs, colon-separated.
MacAddress = Annotated[str, StringConstraints(pattern=r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")]


class Msg(BaseModel):
    """Strict, immutable base for every payload."""

    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, allow_inf_nan=False, use_enum_values=False
    )


class Envelope(Msg):
    v: Literal[1]
    seq: Annotated[int, Field(ge=1, le=MAX_SEQ)]
    # Bounds as constraints (checked in pydantic-core) rather than a Python validator: this
    # runs for every message the gateway receives.
    ts: Annotated[AwareDatetime, Field(ge=TS_MIN, lt=TS_MAX)]


# --------------------------------------------------------------------------- status ------
class RecordingState(StrEnum):
    IDLE = "idle"
    RECORDING = "recording"
    PRE_RECORD = "pre_record"


class BodyCameraStatus(Envelope):
    battery_pct: Percent
    charging: bool = False
    storage_used_mb: Annotated[float, Field(ge=0)]
    storage_total_mb: Annotated[float, Field(gt=0)]
    recording: RecordingState
    temperature_c: Annotated[float, Field(ge=-40, le=100)]
    firmware: ShortText
    docked: bool = False


class VehicleTrackerStatus(Envelope):
    supply_voltage_v: Annotated[float, Field(ge=0, le=60)]
    backup_battery_pct: Percent | None = None
    acc_on: bool
    gsm_signal: Annotated[int, Field(ge=0, le=31)] | None = None
    firmware: ShortText | None = None


class NetworkType(StrEnum):
    NONE = "none"
    G2 = "2g"
    G3 = "3g"
    G4 = "4g"
    G5 = "5g"
    WIFI = "wifi"


class MobileTerminalStatus(Envelope):
    battery_pct: Percent
    charging: bool = False
    network: NetworkType
    signal_dbm: Annotated[int, Field(ge=-140, le=0)] | None = None
    app_version: ShortText
    officer_id: OfficerId | None = None  # signed-in officer, None when nobody is signed in
    storage_free_mb: Annotated[float, Field(ge=0)] | None = None


class PaperState(StrEnum):
    OK = "ok"
    LOW = "low"
    OUT = "out"


class BtPrinterStatus(Envelope):
    battery_pct: Percent
    paper: PaperState
    cover_open: bool = False
    paired_terminal: DeviceId | None = None
    firmware: ShortText | None = None


class CameraDockStatus(Envelope):
    """A collection station (采集站): slots, local storage and its offload work."""

    slots_total: Annotated[int, Field(ge=1, le=128)]
    slots_occupied: Annotated[int, Field(ge=0, le=128)]
    offloading: Annotated[int, Field(ge=0, le=128)] = 0
    storage_used_gb: Annotated[float, Field(ge=0)]
    storage_total_gb: Annotated[float, Field(gt=0)]
    pending_files: Annotated[int, Field(ge=0)] = 0
    firmware: ShortText | None = None


# ------------------------------------------------------------------------- location ------
class Location(Envelope):
    """A GNSS fix from a camera or terminal."""

    lat: Latitude
    lon: Longitude
    accuracy_m: Annotated[float, Field(ge=0, le=100_000)] | None = None
    speed_kmh: Speed | None = None
    heading_deg: Heading | None = None
    altitude_m: Altitude | None = None


class TrackerAlarm(StrEnum):
    """JT/T 808 alarm bits that matter to dispatch, by name."""

    SOS = "sos"
    OVERSPEED = "overspeed"
    FATIGUE = "fatigue"
    GNSS_FAULT = "gnss_fault"
    GNSS_ANTENNA_CUT = "gnss_antenna_cut"
    POWER_LOW = "power_low"
    POWER_CUT = "power_cut"
    COLLISION = "collision"
    ROLLOVER = "rollover"
    ILLEGAL_MOVE = "illegal_move"
    GEOFENCE = "geofence"


class VehicleLocation(Location):
    """A fix from a vehicle tracker: adds the vehicle's own counters and alarms."""

    speed_kmh: Speed
    heading_deg: Heading
    # Optional because JT/T 808 terminals report them only as additional items (0x31, 0x01).
    satellites: Annotated[int, Field(ge=0, le=99)] | None = None
    acc_on: bool
    odometer_km: Annotated[float, Field(ge=0, le=10_000_000)] | None = None
    fuel_l: Annotated[float, Field(ge=0, le=2000)] | None = None
    alarms: Annotated[list[TrackerAlarm], Field(max_length=32)] = []


# --------------------------------------------------------------------------- events ------
class SignIn(Envelope):
    event: Literal["sign_in"]
    officer_id: OfficerId
    lat: Latitude | None = None
    lon: Longitude | None = None


class SignOut(Envelope):
    event: Literal["sign_out"]
    officer_id: OfficerId
    lat: Latitude | None = None
    lon: Longitude | None = None


class RecordStart(Envelope):
    event: Literal["record_start"]
    file_id: ShortText | None = None
    officer_id: OfficerId | None = None


class RecordStop(Envelope):
    event: Literal["record_stop"]
    file_id: ShortText | None = None
    duration_s: Annotated[float, Field(ge=0)] | None = None


class Sos(Envelope):
    event: Literal["sos"]
    lat: Latitude | None = None
    lon: Longitude | None = None
    officer_id: OfficerId | None = None


class LowStorage(Envelope):
    event: Literal["low_storage"]
    storage_free_mb: Annotated[float, Field(ge=0)]


class LowBattery(Envelope):
    event: Literal["low_battery"]
    battery_pct: Percent


class PowerOn(Envelope):
    event: Literal["power_on"]


class PowerOff(Envelope):
    event: Literal["power_off"]


class PrinterPaired(Envelope):
    """The officer scanned a printer's label on this terminal and asks to pair with it.

    The hub records the pairing or refuses it (printer held by another officer's terminal) and
    answers with a ``pairing_result`` command; the terminal prints only once it is accepted.
    """

    event: Literal["printer_paired"]
    printer_id: DeviceId
    officer_id: OfficerId
    printer_mac: MacAddress | None = None


class PrinterUnpaired(Envelope):
    event: Literal["printer_unpaired"]
    printer_id: DeviceId
    officer_id: OfficerId | None = None


# Print jobs: queued -> sent -> printed (print_done) | failed (print_failed, with the reason).
class PrintQueued(Envelope):
    event: Literal["print_queued"]
    job_id: ShortText
    pages: Annotated[int, Field(ge=1, le=1000)] | None = None
    printer_id: DeviceId | None = None
    case_number: ShortText | None = None
    cmd_id: ShortText | None = None  # the hub command that asked for it, if any


class PrintSent(Envelope):
    event: Literal["print_sent"]
    job_id: ShortText
    printer_id: DeviceId | None = None


class PrintDone(Envelope):
    event: Literal["print_done"]
    job_id: ShortText
    pages: Annotated[int, Field(ge=1, le=1000)]
    printer_id: DeviceId | None = None
    resumed: bool = False  # the Bluetooth link dropped and the job resumed where it stopped


class PrintFailed(Envelope):
    event: Literal["print_failed"]
    job_id: ShortText
    reason: Text
    printer_id: DeviceId | None = None
    pages_printed: Annotated[int, Field(ge=0, le=1000)] = 0


# On-the-spot decisions (简易程序, Art. 51-52) on numbers from a block the hub allocated to the
# terminal in advance (``number_block`` command): every number ends printed (reported here),
# voided with a reason, or returned unused. The terminal keeps these in its outbox like any
# event, so a decision made offline is reported when the link is back.
class PrintOutcome(StrEnum):
    PRINTED = "printed"
    FAILED = "failed"


class PrintResult(Msg):
    """How the decision's print job on the paired printer ended."""

    job_id: ShortText
    printer_id: DeviceId
    state: PrintOutcome
    pages: Annotated[int, Field(ge=0, le=1000)] = 0
    at: AwareDatetime
    reason: Text | None = None  # why it failed


class OnSpotDecisionReport(Envelope):
    """A 当场行政处罚决定书 filled in, printed and handed over: the document as the contract
    model (its canonical JSON is what ``sha256`` covers, RFC 8785), the matter it decides and
    how its print went. The hub files it (备案) and marks its number printed."""

    event: Literal["on_spot_decision"]
    number: DocNumber
    matter_code: ShortText
    document: OnSpotDecision
    sha256: Sha256Hex
    print_result: PrintResult
    # The officer signed in on the terminal: they must hold it (custody) when the decision
    # was made and when it is reported (hub.domain.terminals.custody_refusal).
    officer_id: OfficerId

    @model_validator(mode="after")
    def _same_number(self) -> OnSpotDecisionReport:
        if self.document.number != self.number:
            raise ValueError("number differs from the document's number")
        return self


class NumberVoided(Envelope):
    """A number of the terminal's block spoiled (misprint, paper jam, filled in wrongly)."""

    event: Literal["number_voided"]
    number: DocNumber
    reason: Annotated[str, StringConstraints(min_length=1, max_length=1024, pattern=NO_NUL)]
    officer_id: OfficerId | None = None


class NumbersReturned(Envelope):
    """Unused numbers handed back (end of a shift, a block closed, a terminal retired)."""

    event: Literal["numbers_returned"]
    numbers: Annotated[list[DocNumber], Field(min_length=1, max_length=1000)]
    officer_id: OfficerId | None = None


class CameraDocked(Envelope):
    event: Literal["camera_docked"]
    camera_id: DeviceId
    slot: Annotated[int, Field(ge=1, le=128)]


class CameraUndocked(Envelope):
    event: Literal["camera_undocked"]
    camera_id: DeviceId
    slot: Annotated[int, Field(ge=1, le=128)]


class Integrity(StrEnum):
    OK = "ok"
    # The stored copy no longer hashes to what was computed while offloading it.
    HASH_CHANGED = "hash_changed"
    # The camera's own hash of the file (where it keeps one) differs from the offloaded bytes.
    CAMERA_HASH_MISMATCH = "camera_hash_mismatch"


class EvidenceManifest(Envelope):
    """One recorded file offloaded by a dock: what, whose, when, and its SHA-256."""

    event: Literal["evidence_manifest"]
    camera_id: DeviceId
    file_id: ShortText
    officer_id: OfficerId | None = None  # assigned to the camera when the file was recorded
    started_at: AwareDatetime
    ended_at: AwareDatetime
    size_bytes: Annotated[int, Field(ge=0, le=2**50)]
    media_type: ShortText
    sha256: Sha256Hex  # computed over the bytes as they were offloaded
    registered_sha256: Sha256Hex  # recomputed from the stored copy when registering
    camera_sha256: Sha256Hex | None = None
    integrity: Integrity
    storage_uri: Text
    offload_resumed: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> EvidenceManifest:
        if self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        if self.registered_sha256 != self.sha256:
            expected = Integrity.HASH_CHANGED
        elif self.camera_sha256 is not None and self.camera_sha256 != self.sha256:
            expected = Integrity.CAMERA_HASH_MISMATCH
        else:
            expected = Integrity.OK
        if self.integrity is not expected:
            raise ValueError(f"integrity must be {expected.value!r} for these hashes")
        return self


class OffloadFailed(Envelope):
    event: Literal["offload_failed"]
    camera_id: DeviceId
    file_id: ShortText | None = None
    reason: Text


class IgnitionOn(Envelope):
    event: Literal["ignition_on"]


class IgnitionOff(Envelope):
    event: Literal["ignition_off"]


# Which events each kind of device may send (a body camera cannot print).
_COMMON = (LowBattery, PowerOn, PowerOff)
EVENTS_BY_TYPE: dict[DeviceType, tuple[type[Envelope], ...]] = {
    DeviceType.BODY_CAMERA: (RecordStart, RecordStop, Sos, LowStorage, *_COMMON),
    DeviceType.MOBILE_TERMINAL: (
        SignIn,
        SignOut,
        Sos,
        PrinterPaired,
        PrinterUnpaired,
        PrintQueued,
        PrintSent,
        PrintDone,
        PrintFailed,
        OnSpotDecisionReport,
        NumberVoided,
        NumbersReturned,
        LowStorage,
        *_COMMON,
    ),
    DeviceType.BT_PRINTER: (PrintDone, PrintFailed, *_COMMON),
    DeviceType.VEHICLE_TRACKER: (Sos, IgnitionOn, IgnitionOff, *_COMMON),
    DeviceType.CAMERA_DOCK: (
        CameraDocked,
        CameraUndocked,
        EvidenceManifest,
        OffloadFailed,
        LowStorage,
        PowerOn,
        PowerOff,
    ),
}


# ----------------------------------------------------------------------- state & cmd ------
class PresenceState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class StateMessage(Msg):
    """Retained presence; also the MQTT Will (``offline``), which has no time of its own."""

    v: Literal[1]
    state: PresenceState
    ts: AwareDatetime | None = None


class CmdStatus(StrEnum):
    ACCEPTED = "accepted"
    DONE = "done"
    REJECTED = "rejected"
    FAILED = "failed"


class CmdResult(Envelope):
    cmd_id: ShortText
    status: CmdStatus
    detail: Text | None = None


class Ack(Msg):
    """Hub -> device: every message with ``seq`` up to and including this one is committed."""

    v: Literal[1]
    seq: Annotated[int, Field(ge=0, le=MAX_SEQ)]
    ts: AwareDatetime


class Command(Msg):
    """Hub -> device: an order (dispatch, print job, config), answered on ``cmd_result``."""

    v: Literal[1]
    cmd_id: ShortText
    ts: AwareDatetime
    cmd: ShortText
    args: dict[str, Any] = {}
    expires_at: AwareDatetime | None = None


# The commands the hub sends, and the typed ``args`` of each (``parse_command_args``).
class DispatchArgs(Msg):
    """Go to an incident; the terminal answers ``accepted`` (officer acknowledged) then ``done``."""

    incident_id: ShortText
    lat: Latitude
    lon: Longitude
    address: Text | None = None
    priority: Annotated[int, Field(ge=1, le=4)] = 3  # 1 = top (SOS)
    note: Text | None = None


class PrintArgs(Msg):
    """Print an enforcement document on the officer's paired printer."""

    job_id: ShortText
    printer_id: DeviceId | None = None  # None: the printer paired to this terminal
    doc_type: ShortText
    title: ShortText
    case_number: ShortText
    officer_name: ShortText
    officer_badge: ShortText
    street: Text
    issued_at: AwareDatetime
    legal_basis: Text
    body: Annotated[str, StringConstraints(min_length=1, max_length=4000, pattern=NO_NUL)]
    case_url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s\x00]{1,500}$")]
    team_name: ShortText
    copies: Annotated[int, Field(ge=1, le=5)] = 1


class PrintDocumentArgs(Msg):
    """Print a contract document (``schemas.documents``: the on-the-spot decision, a
    rectification notice, a service receipt...) on the officer's paired printer.

    The terminal lays the document out itself from the contract's blocks, as the hub's A4 PDF
    does, with the QR code to ``{verify_base}/verify/{doc_type}/{number}``. The same ``print``
    command as ``PrintArgs``, told apart by its ``document`` key.
    """

    job_id: ShortText
    printer_id: DeviceId | None = None  # None: the printer paired to this terminal
    document: Document
    verify_base: Annotated[
        str, StringConstraints(pattern=r"^https?://[^\s/?#]{1,200}(/[^\s?#]{0,200})?$")
    ]
    copies: Annotated[int, Field(ge=1, le=5)] = 1


class ConfigArgs(Msg):
    status_interval_s: Annotated[float, Field(ge=5, le=3600)] | None = None
    location_interval_s: Annotated[float, Field(ge=1, le=3600)] | None = None


class PairingResultArgs(Msg):
    """The hub's answer to a ``printer_paired`` request."""

    printer_id: DeviceId
    officer_id: OfficerId
    accepted: bool
    reason: Text | None = None  # why it was refused


def block_number(prefix: str, year: int, n: int) -> str:
    """The printed form of number ``n`` of a block: ``{prefix}〔{year}〕第{n:06d}号`` (the same
    rule as ``hub.domain.cases.numbering.format_number``; a test holds them together)."""
    if not 1 <= n <= 999_999:
        raise ValueError(f"a number runs from 1 to 999999, not {n}")
    return f"{prefix}〔{year}〕第{n:06d}号"


class NumberBlockArgs(Msg):
    """Hub -> terminal: a block of pre-allocated 当场行政处罚决定书 numbers, ``first`` to
    ``last`` of the legal subject's series for ``year``, with what the pre-printed form
    carries (the agency's name and seal, where to seek 复议/诉讼, where a fine is paid). The
    terminal keeps it (offline too) and answers ``done``."""

    block_id: ShortText
    subject: Subject
    prefix: ShortText
    year: Annotated[int, Field(ge=2000, le=2200)]
    first: Annotated[int, Field(ge=1, le=999_999)]
    last: Annotated[int, Field(ge=1, le=999_999)]
    remedies: Remedies | None = None
    payment: Payment | None = None

    @model_validator(mode="after")
    def _ordered(self) -> NumberBlockArgs:
        if self.last < self.first:
            raise ValueError("last is before first")
        if self.last - self.first >= 1000:
            raise ValueError("a block holds at most 1000 numbers")
        return self

    def numbers(self) -> list[str]:
        return [block_number(self.prefix, self.year, n) for n in range(self.first, self.last + 1)]


COMMAND_ARGS: dict[str, type[Msg]] = {
    "dispatch": DispatchArgs,
    "print": PrintArgs,
    "config": ConfigArgs,
    "pairing_result": PairingResultArgs,
    "number_block": NumberBlockArgs,
}
# Commands whose args come in more than one shape: (the key that marks the variant, its model).
COMMAND_VARIANTS: dict[str, tuple[str, type[Msg]]] = {"print": ("document", PrintDocumentArgs)}
# Every args model of each command name (what ``hub.services.commands.issue`` accepts).
COMMAND_ARG_MODELS: dict[str, tuple[type[Msg], ...]] = {
    name: (model, *((COMMAND_VARIANTS[name][1],) if name in COMMAND_VARIANTS else ()))
    for name, model in COMMAND_ARGS.items()
}


# ------------------------------------------------------------------- topic -> model ------
def _event_union(types: tuple[type[Envelope], ...]) -> TypeAdapter[Any]:
    """A discriminated union on ``event``: one lookup instead of trying every model."""
    union: Any = Annotated[Union[types], Field(discriminator="event")]  # noqa: UP007
    return TypeAdapter(union)


STATUS_MODELS: dict[DeviceType, type[Envelope]] = {
    DeviceType.BODY_CAMERA: BodyCameraStatus,
    DeviceType.VEHICLE_TRACKER: VehicleTrackerStatus,
    DeviceType.MOBILE_TERMINAL: MobileTerminalStatus,
    DeviceType.BT_PRINTER: BtPrinterStatus,
    DeviceType.CAMERA_DOCK: CameraDockStatus,
}
LOCATION_MODELS: dict[DeviceType, type[Envelope]] = {
    DeviceType.BODY_CAMERA: Location,
    DeviceType.VEHICLE_TRACKER: VehicleLocation,
    DeviceType.MOBILE_TERMINAL: Location,
}


def _build_adapters() -> dict[tuple[DeviceType, Channel], TypeAdapter[Any]]:
    table: dict[tuple[DeviceType, Channel], TypeAdapter[Any]] = {}
    for dtype in DeviceType:
        table[dtype, Channel.STATUS] = TypeAdapter(STATUS_MODELS[dtype])
        if dtype in LOCATION_MODELS:
            table[dtype, Channel.LOCATION] = TypeAdapter(LOCATION_MODELS[dtype])
        table[dtype, Channel.EVENT] = _event_union(EVENTS_BY_TYPE[dtype])
        table[dtype, Channel.STATE] = TypeAdapter(StateMessage)
        if dtype is not DeviceType.BT_PRINTER:  # printers take no commands: no cmd_result
            table[dtype, Channel.CMD_RESULT] = TypeAdapter(CmdResult)
    return table


ADAPTERS = _build_adapters()


# JSON nested deeper than this is refused before any parser sees it. Our deepest payload nests
# two levels (a VehicleLocation's ``alarms``; a command's ``args`` three): 64 leaves room for any
# message we may add while keeping every parser that reads a payload far from its limits
# (Python's ``json`` recurses once per level and raises RecursionError near 1,000; the hub and
# tools use it on raw payloads too, and a traceback per hostile message is a log flood).
MAX_JSON_DEPTH = 64
# A JSON string, escapes included (possessive, so no backtracking on hostile input).
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = [0] * 256
for _open in b"[{":
    _STEP[_open] = 1
for _close in b"]}":
    _STEP[_close] = -1


def json_depth_exceeds(raw: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``raw`` nests arrays/objects deeper than ``limit``, by a scan of its bytes
    (brackets inside strings do not count); no parsing, so no recursion however deep it is."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    # Fast path, two C-speed counts: with no more opening brackets than the limit anywhere,
    # nothing can nest deeper. Real payloads have a handful.
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    brackets = _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKET)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > limit


class ContractError(ValueError):
    """A payload that does not fit the model for its topic; ``reason`` is a short code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def parse_payload(device_type: DeviceType, channel: Channel, raw: bytes | str) -> Any:
    """Validate ``raw`` JSON against the model for (device_type, channel).

    Raises ``ContractError`` with reason ``no_such_channel`` (the device kind does not send on
    that channel), ``too_deep`` (nested deeper than ``MAX_JSON_DEPTH``, refused unparsed),
    ``invalid_json`` or ``schema`` (with pydantic's field-level message).
    """
    adapter = ADAPTERS.get((device_type, channel))
    if adapter is None:
        raise ContractError(
            "no_such_channel", f"{device_type.value} devices do not send on '{channel.value}'"
        )
    if json_depth_exceeds(raw):
        raise ContractError(
            "too_deep", f"JSON nested deeper than {MAX_JSON_DEPTH} levels; refused unparsed"
        )
    try:
        return adapter.validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        if errors and errors[0]["type"] == "json_invalid":
            raise ContractError("invalid_json", errors[0]["msg"]) from None
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}"
            + (" (device clock not set?)" if e["loc"] == ("ts",) and "ctx" in e else "")
            for e in errors[:5]
        )
        raise ContractError("schema", detail) from None


def parse_command_args(command: Command) -> Msg:
    """The typed ``args`` of a command, or ``ContractError`` (``unknown_command`` / ``schema``)."""
    model = COMMAND_ARGS.get(command.cmd)
    variant = COMMAND_VARIANTS.get(command.cmd)
    if variant is not None and variant[0] in command.args:
        model = variant[1]
    if model is None:
        raise ContractError(
            "unknown_command", f"{command.cmd!r} is not one of {', '.join(COMMAND_ARGS)}"
        )
    try:
        # Through JSON, so datetimes arrive as the RFC 3339 strings the wire carries.
        return model.model_validate_json(json.dumps(command.args))
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5])
        raise ContractError("schema", detail) from None


def message_models() -> dict[str, type[BaseModel]]:
    """Every concrete model by name, for the JSON Schema and AsyncAPI export."""
    found: dict[str, type[BaseModel]] = {}
    fixed: list[type[BaseModel]] = [
        *STATUS_MODELS.values(),
        *LOCATION_MODELS.values(),
        StateMessage,
        CmdResult,
        Ack,
        Command,
        *(m for models in COMMAND_ARG_MODELS.values() for m in models),
    ]
    for model in fixed:
        found[model.__name__] = model
    for types in EVENTS_BY_TYPE.values():
        for model in types:
            found[model.__name__] = model
    return found
