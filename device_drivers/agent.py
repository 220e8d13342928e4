"""What a device agent is to the MQTT shell that runs it (``simulator.runner``), and the
command bookkeeping every agent shares. Pure.

An agent is device logic without IO: asked at each tick for its next periodic message, handed
each ``cmd`` the hub sends, and drained of whatever it produced on its own in between (a print
job finishing, an offload completing). The shell numbers the messages (``seq``), keeps them in
the outbox until acked and resends them, so an agent never deals with delivery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from schemas.messages import CmdStatus, Command, ContractError, Msg, parse_command_args
from schemas.topics import Channel, DeviceType

# (channel, fields without v/seq/ts)
Message = tuple[Channel, dict[str, Any]]


class DeviceAgent(Protocol):
    device_id: str
    device_type: DeviceType

    def next_message(self, now: datetime) -> Message | None:
        """The periodic message due at ``now`` (status, a fix, an event), if any."""
        ...

    def on_command(self, command: Command, now: datetime) -> list[Message]:
        """React to a ``cmd``; return what to publish (at least one ``cmd_result``)."""
        ...

    def drain(self, now: datetime) -> list[Message]:
        """Messages produced since the last call by work running on its own."""
        ...


def cmd_result(cmd_id: str, status: CmdStatus, detail: str | None = None) -> Message:
    fields: dict[str, Any] = {"cmd_id": cmd_id, "status": status.value}
    if detail:
        fields["detail"] = detail[:1024]
    return Channel.CMD_RESULT, fields


@dataclass
class CommandLog:
    """Answers given per ``cmd_id``: a command redelivered by the broker (QoS 1 is at least
    once) is answered again with the same result, never executed twice."""

    limit: int = 1000
    _answers: dict[str, list[Message]] = field(default_factory=dict)

    def seen(self, cmd_id: str) -> list[Message] | None:
        return self._answers.get(cmd_id)

    def record(self, cmd_id: str, answers: list[Message]) -> list[Message]:
        self._answers[cmd_id] = list(answers)
        while len(self._answers) > self.limit:
            del self._answers[next(iter(self._answers))]
        return answers

    def triage(self, command: Command, now: datetime) -> list[Message] | Msg:
        """The answer already due (a redelivery, an expired or malformed command), or the
        command's typed args for the agent to act on."""
        if (again := self.seen(command.cmd_id)) is not None:
            return again
        if command.expires_at is not None and command.expires_at <= now:
            late = cmd_result(command.cmd_id, CmdStatus.REJECTED, "expired before delivery")
            return self.record(command.cmd_id, [late])
        try:
            return parse_command_args(command)
        except ContractError as exc:
            answer = [cmd_result(command.cmd_id, CmdStatus.REJECTED, str(exc))]
            return self.record(command.cmd_id, answer)
