"""Write the MQTT contract for device makers: a JSON Schema per message and an AsyncAPI 2.6
document, all generated from the pydantic models (``ehub schemas export``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from schemas.messages import (
    EVENTS_BY_TYPE,
    LOCATION_MODELS,
    STATUS_MODELS,
    Ack,
    CmdResult,
    Command,
    StateMessage,
    message_models,
)
from schemas.topics import DEVICE_ID_PATTERN, PREFIX, Channel, DeviceType

REF = "#/components/schemas/{model}"

CHANNEL_DOC = {
    Channel.STATUS: "Periodic health report. QoS 1, not retained.",
    Channel.LOCATION: "GNSS fix. QoS 1, not retained.",
    Channel.EVENT: "Discrete event (sign-in, recording, SOS, printing...). QoS 1.",
    Channel.STATE: "Presence, retained. Publish `online` after connecting and set the MQTT Will "
    "to `offline` (retained, QoS 1).",
    Channel.CMD_RESULT: "Answer to a `cmd` (accepted, done, rejected, failed). QoS 1.",
    Channel.ACK: (
        "Hub to device: every message with `seq` up to this one is stored; drop them from "
        "the outbox. Resend everything above it after reconnecting, and resend a message "
        "whose ack is overdue (the simulator waits 10 s): acks are cumulative, so a lost one "
        "costs only a duplicate, which the hub absorbs."
    ),
    Channel.CMD: "Hub to device: an order. `cmd` names it and `args` follows the schema of the "
    "same name: dispatch (DispatchArgs), print (PrintArgs, or PrintDocumentArgs when `args` has a "
    "`document`: a contract document the terminal lays out itself), config (ConfigArgs), "
    "pairing_result (PairingResultArgs). Answer on `cmd_result` with `accepted`, then `done` or "
    "`failed`.",
}


def _dump(path: Path, doc: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
    )
    return path


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://enforcement-hub.invalid/contract/v1/{model.__name__}.json"
    return schema


def _component_schemas() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, model in message_models().items():
        schema = model.model_json_schema(ref_template=REF, mode="validation")
        for def_name, d in schema.pop("$defs", {}).items():
            out[def_name] = d
        out[name] = schema
    return out


def _message(name: str, summary: str) -> dict[str, Any]:
    return {
        "name": name,
        "title": name,
        "summary": summary,
        "contentType": "application/json",
        "payload": {"$ref": REF.format(model=name)},
    }


def asyncapi() -> dict[str, Any]:
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}

    def msg_ref(model: type[BaseModel]) -> dict[str, str]:
        doc = (model.__doc__ or model.__name__).strip().splitlines()[0]
        messages.setdefault(model.__name__, _message(model.__name__, doc))
        return {"$ref": f"#/components/messages/{model.__name__}"}

    for dtype in DeviceType:
        per_channel: dict[Channel, list[type[BaseModel]]] = {
            Channel.STATUS: [STATUS_MODELS[dtype]],
            Channel.EVENT: list(EVENTS_BY_TYPE[dtype]),
            Channel.STATE: [StateMessage],
            Channel.ACK: [Ack],
        }
        if dtype in LOCATION_MODELS:
            per_channel[Channel.LOCATION] = [LOCATION_MODELS[dtype]]
        if dtype is not DeviceType.BT_PRINTER:
            per_channel[Channel.CMD_RESULT] = [CmdResult]
            per_channel[Channel.CMD] = [Command]
        for channel, models in sorted(per_channel.items()):
            refs = [msg_ref(m) for m in models]
            message = refs[0] if len(refs) == 1 else {"oneOf": refs}
            downstream = channel in (Channel.ACK, Channel.CMD)
            # AsyncAPI 2.x speaks for the hub: "publish" = others publish to us.
            op = "subscribe" if downstream else "publish"
            channels[f"{PREFIX}/{dtype.value}/{{device_id}}/{channel.value}"] = {
                "description": CHANNEL_DOC[channel],
                "parameters": {"device_id": {"$ref": "#/components/parameters/device_id"}},
                op: {
                    "operationId": f"{dtype.value}_{channel.value}",
                    "message": message,
                    "bindings": {
                        "mqtt": {
                            "qos": 1,
                            "retain": channel is Channel.STATE,
                            "bindingVersion": "0.1.0",
                        }
                    },
                },
            }
    return {
        "asyncapi": "2.6.0",
        "info": {
            "title": "EnforceHub device contract",
            "version": "1.0.0",
            "description": (
                "MQTT v1 contract between enforcement devices (body cameras, vehicle trackers, "
                "mobile terminals, Bluetooth printers via their terminal) and the hub. Every "
                "upstream data message carries `v` (1), a per-device monotonic `seq` starting "
                "at 1, and `ts` (RFC 3339 with offset). Keep each message until an `ack` "
                "covers its seq; resend after reconnecting. Unknown fields, NaN and "
                "out-of-range values are rejected and dead-lettered."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "broker": {
                "url": "mqtt://broker:1883",
                "protocol": "mqtt",
                "protocolVersion": "5.0",
                "description": "3.1.1 also works for devices",
            }
        },
        "channels": channels,
        "components": {
            "messages": messages,
            "schemas": _component_schemas(),
            "parameters": {
                "device_id": {
                    "description": "Lowercase letters, digits and '-', 3-64 characters",
                    "schema": {"type": "string", "pattern": DEVICE_ID_PATTERN},
                }
            },
        },
    }


def export(out: Path) -> list[Path]:
    """Write ``out/asyncapi.json`` and ``out/schemas/<Model>.json``; returns the paths."""
    written = [_dump(out / "asyncapi.json", asyncapi())]
    for name, model in sorted(message_models().items()):
        written.append(_dump(out / "schemas" / f"{name}.json", json_schema(model)))
    return written
