"""``transport.Transport`` over bleak: the only code that touches the Bluetooth radio.

Kept thin on purpose: it translates bleak's objects into ``gatt.Characteristic`` tables and
bleak's errors into ``ConnectionLost`` / ``PrinterNotFound``. Everything above it is tested
with the fake peripheral; this file is what needs a printer on the desk to test.
"""

from __future__ import annotations

import contextlib

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.exc import BleakError

from device_drivers.bt_printer.errors import ConnectionLost, PrinterNotFound, TransportError
from device_drivers.bt_printer.gatt import Characteristic
from device_drivers.bt_printer.transport import (
    Advertisement,
    DisconnectCallback,
    LinkInfo,
    NotifyCallback,
)


class BleakLink:
    def __init__(self, client: BleakClient) -> None:
        self._client = client
        services: dict[str, dict[str, Characteristic]] = {}
        for service in client.services:
            services[service.uuid.lower()] = {
                c.uuid.lower(): Characteristic(
                    c.uuid.lower(), frozenset(c.properties), c.max_write_without_response_size
                )
                for c in service.characteristics
            }
        self._info = LinkInfo(str(client.address), services)

    @property
    def info(self) -> LinkInfo:
        return self._info

    @property
    def is_connected(self) -> bool:
        return bool(self._client.is_connected)

    def _error(self, exc: Exception) -> TransportError:
        if not self._client.is_connected:
            return ConnectionLost(f"{self._info.address}: {exc}")
        return TransportError(f"{self._info.address}: {exc}")

    async def write(self, char_uuid: str, data: bytes, *, response: bool) -> None:
        try:
            await self._client.write_gatt_char(char_uuid, data, response=response)
        except (TimeoutError, BleakError, OSError) as exc:
            raise self._error(exc) from exc

    async def start_notify(self, char_uuid: str, callback: NotifyCallback) -> None:
        def relay(_char: BleakGATTCharacteristic, data: bytearray) -> None:
            callback(bytes(data))

        try:
            await self._client.start_notify(char_uuid, relay)
        except (TimeoutError, BleakError, OSError) as exc:
            raise self._error(exc) from exc

    async def disconnect(self) -> None:
        with contextlib.suppress(BleakError, OSError):  # already gone
            await self._client.disconnect()


class BleakTransport:
    """Scan and connect with bleak (BlueZ on Linux, CoreBluetooth, WinRT, Android)."""

    async def scan(self, timeout_s: float) -> list[Advertisement]:
        try:
            found = await BleakScanner.discover(timeout=timeout_s, return_adv=True)
        except (BleakError, OSError) as exc:
            raise TransportError(f"Bluetooth scan failed: {exc}") from exc
        return [
            Advertisement(
                address, adv.local_name or device.name, tuple(adv.service_uuids), adv.rssi
            )
            for address, (device, adv) in found.items()
        ]

    async def connect(
        self, address: str, timeout_s: float, on_disconnect: DisconnectCallback
    ) -> BleakLink:
        client = BleakClient(
            address, disconnected_callback=lambda _c: on_disconnect(), timeout=timeout_s
        )
        try:
            await client.connect()
        except (TimeoutError, BleakError, OSError) as exc:
            raise PrinterNotFound(f"cannot connect to {address}: {exc}") from exc
        return BleakLink(client)
