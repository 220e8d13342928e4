"""The small interface between the printer driver and a BLE stack.

``bleak_transport.BleakTransport`` implements it over bleak (the radio); ``fake.FakeTransport``
implements the same GATT behaviour in memory for tests. The driver sees only these types, so
everything but the radio is tested without one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from device_drivers.bt_printer.gatt import ServiceTable


@dataclass(frozen=True, slots=True)
class Advertisement:
    """One device seen while scanning."""

    address: str
    name: str | None
    service_uuids: tuple[str, ...] = ()
    rssi: int | None = None


@dataclass(frozen=True, slots=True)
class LinkInfo:
    """What a connection discovered: the service table, for ``gatt.resolve``."""

    address: str
    services: ServiceTable = field(default_factory=dict)


NotifyCallback = Callable[[bytes], None]
DisconnectCallback = Callable[[], None]


class Link(Protocol):
    """A connected peripheral. Every method raises ``ConnectionLost`` once the link is down."""

    @property
    def info(self) -> LinkInfo: ...

    @property
    def is_connected(self) -> bool: ...

    async def write(self, char_uuid: str, data: bytes, *, response: bool) -> None:
        """Write one chunk; ``response=True`` waits for the ATT write response."""

    async def start_notify(self, char_uuid: str, callback: NotifyCallback) -> None: ...

    async def disconnect(self) -> None: ...


class Transport(Protocol):
    """Scanning and connecting: the only way the driver reaches a radio."""

    async def scan(self, timeout_s: float) -> list[Advertisement]: ...

    async def connect(
        self, address: str, timeout_s: float, on_disconnect: DisconnectCallback
    ) -> Link:
        """Connect and discover services; raises ``PrinterNotFound`` if nobody answers."""
        ...
