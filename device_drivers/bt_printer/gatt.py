"""GATT layouts of portable thermal printers: which service to look for, where to write, where
the printer notifies, and how to choose among them from what a device offers. Pure.

Cheap BLE printers expose a "transparent UART" in one of a handful of layouts. A printer is
recognised by an advertised service UUID (when it advertises one) or, once connected, by its
service table. The first matching layout in ``LAYOUTS`` order wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

BASE_UUID = "0000{:04x}-0000-1000-8000-00805f9b34fb"

# Standard Battery Service (Bluetooth SIG): Battery Level is one byte, 0-100, readable/notify.
BATTERY_SERVICE = BASE_UUID.format(0x180F)
BATTERY_LEVEL = BASE_UUID.format(0x2A19)

# When the stack does not know the ATT MTU, only the BLE 4.0 minimum is safe (23 - 3 bytes).
DEFAULT_CHUNK = 20
MAX_CHUNK = 512  # ATT attribute value limit


def uuid16(short: int) -> str:
    """The full 128-bit form of a 16-bit SIG UUID, lowercase as bleak reports it."""
    return BASE_UUID.format(short)


def normalise(uuid: str) -> str:
    """Accept ``"ff02"``, ``"0xFF02"`` or a full UUID; return the full lowercase form."""
    u = uuid.strip().lower()
    if u.startswith("0x"):
        u = u[2:]
    if len(u) == 4:
        return uuid16(int(u, 16))
    return u


@dataclass(frozen=True, slots=True)
class Layout:
    """A known printer service: write characteristic and candidate notify characteristics."""

    name: str
    service: str
    write: str
    notify: tuple[str, ...] = ()


LAYOUTS: tuple[Layout, ...] = (
    # Many Chinese portable receipt printers: data in on 0x2AF1, status out on 0x2AF0.
    Layout("18f0", uuid16(0x18F0), uuid16(0x2AF1), (uuid16(0x2AF0),)),
    # 0xFF00 family: write 0xFF02; status on 0xFF01 or 0xFF03 depending on the firmware.
    Layout("ff00", uuid16(0xFF00), uuid16(0xFF02), (uuid16(0xFF01), uuid16(0xFF03))),
    # Microchip/ISSC transparent UART (BM70/RN4870 modules).
    Layout(
        "issc",
        "49535343-fe7d-4ae5-8fa9-9fafd205e455",
        "49535343-8841-43f4-a8d4-ecbe34729bb3",
        ("49535343-1e4d-4bd9-ba61-23c647249616",),
    ),
    # HM-10 style modules: one characteristic both ways.
    Layout("ffe0", uuid16(0xFFE0), uuid16(0xFFE1), (uuid16(0xFFE1),)),
)


@dataclass(frozen=True, slots=True)
class Characteristic:
    """What the driver needs to know about one characteristic of a connected device."""

    uuid: str
    properties: frozenset[str]  # bleak's names: "write", "write-without-response", "notify"...
    max_write_without_response: int | None = None


# service uuid -> characteristic uuid -> characteristic
ServiceTable = Mapping[str, Mapping[str, Characteristic]]


@dataclass(frozen=True, slots=True)
class Resolved:
    """The characteristics a driver uses on a connected printer."""

    layout: Layout
    write: Characteristic
    notify: Characteristic | None
    battery: Characteristic | None

    @property
    def write_without_response(self) -> bool:
        return "write-without-response" in self.write.properties

    @property
    def chunk_size(self) -> int:
        """``max_write_without_response_size`` when the stack reports it, else 20 bytes."""
        size = self.write.max_write_without_response
        if not size or size < DEFAULT_CHUNK:
            return DEFAULT_CHUNK
        return min(size, MAX_CHUNK)


class NoPrinterService(LookupError):
    """The device offers none of the known printer layouts."""


def matches_advertisement(service_uuids: Iterable[str]) -> Layout | None:
    """The layout whose service a scan result advertises, if any."""
    offered = {normalise(u) for u in service_uuids}
    for layout in LAYOUTS:
        if layout.service in offered:
            return layout
    return None


def resolve(table: ServiceTable, preferred: str | None = None) -> Resolved:
    """Pick the printer layout from a connected device's service table.

    ``preferred`` (a layout name) is tried first, for printers configured by model. A layout
    counts only if its write characteristic can actually be written; its first notify
    candidate that really notifies becomes the status channel.
    """
    services = {
        normalise(s): {normalise(c): v for c, v in chars.items()} for s, chars in table.items()
    }
    order = sorted(LAYOUTS, key=lambda lay: lay.name != preferred)
    battery = services.get(BATTERY_SERVICE, {}).get(BATTERY_LEVEL)
    if battery is not None and not ({"notify", "read"} & battery.properties):
        battery = None
    for layout in order:
        chars = services.get(layout.service)
        if chars is None:
            continue
        write = chars.get(layout.write)
        if write is None or not ({"write", "write-without-response"} & write.properties):
            continue
        notify = next(
            (
                chars[u]
                for u in layout.notify
                if u in chars and {"notify", "indicate"} & chars[u].properties
            ),
            None,
        )
        return Resolved(layout, write, notify, battery)
    raise NoPrinterService(
        "no known printer service (0x18F0, 0xFF00, ISSC transparent UART, 0xFFE0) with a "
        f"writable characteristic; the device offers {sorted(services) or 'no services'}"
    )


def chunks(data: bytes, size: int) -> list[bytes]:
    """``data`` cut into writes of at most ``size`` bytes (the last may be shorter)."""
    if size < 1:
        raise ValueError("chunk size must be positive")
    return [data[i : i + size] for i in range(0, len(data), size)]
