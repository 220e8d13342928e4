"""What the camera and the dock share: local time, once-per-crossing alarms, config commands.

Both take exactly one command, ``config``; everything else is answered ``rejected`` with the
reason, redeliveries are answered again from the ``CommandLog`` and never applied twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from device_drivers.agent import CommandLog, Message, cmd_result
from schemas.messages import CmdStatus, Command, ConfigArgs

# China has kept UTC+8 all year since 1991, so a fixed offset is exact and needs no tz database.
CST = timezone(timedelta(hours=8), "CST")


@dataclass
class Latch:
    """An alarm that fires once when a level enters its alarm zone and re-arms only after the
    level has recovered, so a battery hovering at the threshold raises one event, not one a tick.
    """

    armed: bool = True

    def update(self, alarm: bool, recovered: bool) -> bool:
        """True exactly when this update is a fresh crossing into alarm."""
        if self.armed and alarm:
            self.armed = False
            return True
        if not self.armed and recovered:
            self.armed = True
        return False


def answer_command(
    command: Command,
    now: datetime,
    log: CommandLog,
    kind: str,
    configure: Callable[[ConfigArgs], str | None],
) -> list[Message]:
    """Answer ``command`` for a device that takes only ``config``.

    ``configure`` applies the arguments and returns None, or returns why it cannot (nothing is
    applied then). ``kind`` names the device in rejections ("body cameras", "camera docks").
    """
    args = log.triage(command, now)
    if isinstance(args, list):
        return args
    if not isinstance(args, ConfigArgs):
        why = f"{kind} take only 'config', not {command.cmd!r}"
        return log.record(command.cmd_id, [cmd_result(command.cmd_id, CmdStatus.REJECTED, why)])
    problem = configure(args)
    status = CmdStatus.DONE if problem is None else CmdStatus.REJECTED
    return log.record(command.cmd_id, [cmd_result(command.cmd_id, status, problem)])
