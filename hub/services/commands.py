"""Orders to devices: recorded in ``device_commands`` before they are sent, so every command
has a status (sent -> accepted -> done | rejected | failed) that the device's ``cmd_result``
moves forward (``device_events.handle``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from hub.repositories import device_records as repo
from hub.services.device_events import Outgoing
from schemas.messages import COMMAND_ARG_MODELS, Command
from schemas.topics import DeviceType


class UnknownCommand(ValueError):
    """A command name devices do not know (see ``schemas.messages.COMMAND_ARG_MODELS``)."""


def issue(
    conn: repo.Conn,
    device_type: DeviceType,
    device_id: str,
    args: BaseModel,
    *,
    expires_in: timedelta | None = None,
    now: datetime | None = None,
) -> Outgoing:
    """Record a command for ``device_id`` (in the caller's transaction); publish the returned
    ``Outgoing`` after commit."""
    name = next((n for n, ms in COMMAND_ARG_MODELS.items() if isinstance(args, ms)), None)
    if name is None:
        raise UnknownCommand(f"{type(args).__name__} is not the args of any command")
    now = now or datetime.now(UTC)
    cmd_id = f"{name}-{uuid.uuid4().hex[:12]}"
    payload = args.model_dump(mode="json", exclude_none=True)
    expires = now + expires_in if expires_in else None
    repo.insert_command(
        conn, cmd_id, device_id, cmd=name, args=payload, created_at=now, expires_at=expires
    )
    command = Command(v=1, cmd_id=cmd_id, ts=now, cmd=name, args=payload, expires_at=expires)
    return Outgoing(device_type, device_id, command)
