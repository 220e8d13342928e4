"""A device's identity towards the field: its MQTT credentials (issue, rotate, what the broker
has) and, for vehicle trackers, the JT/T 808 terminal phone number it is enrolled under."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, StringConstraints

from hub.api.deps import Conn, CurrentUser, SettingsDep
from hub.domain.errors import Conflict, NotFound
from hub.services import broker_access, jt808_enrol
from schemas.broker import MqttEndpoint
from schemas.topics import DEVICE_ID_PATTERN

router = APIRouter(prefix="/api/v1", tags=["broker"])

DeviceId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]


class CredentialsPublic(BaseModel):
    """Shown once: the hub keeps no copy of the password."""

    username: str
    password: str
    client_id: str


class BrokerStatePublic(BaseModel):
    pending_on_broker: int
    credentials_issued_at: datetime | None
    credentials_issued_by: str | None
    rotations: int


@router.post("/devices/{device_id}/credentials", response_model=CredentialsPublic)
async def issue_credentials(
    device_id: DeviceId, p: CurrentUser, conn: Conn, s: SettingsDep, response: Response
) -> CredentialsPublic:
    """Issue the device's broker password, or rotate it (the old one stops working and the
    device's connection is dropped). Equipment managers and admins, within their reach."""
    if not s.hub_broker_provisioning:
        raise Conflict("broker provisioning is off on this hub (EHUB_HUB_BROKER_PROVISIONING)")
    issued = await broker_access.issue(
        conn, p, device_id, MqttEndpoint.parse(s.mqtt_url), timeout_s=s.hub_broker_timeout_s
    )
    response.headers["Cache-Control"] = "no-store"
    return CredentialsPublic(
        username=issued.username, password=issued.password, client_id=issued.client_id
    )


@router.get("/devices/{device_id}/broker", response_model=BrokerStatePublic)
async def broker_state(device_id: DeviceId, p: CurrentUser, conn: Conn) -> BrokerStatePublic:
    st = await broker_access.state(conn, p, device_id)
    return BrokerStatePublic(
        pending_on_broker=st.pending,
        credentials_issued_at=st.issued_at,
        credentials_issued_by=st.issued_by,
        rotations=st.rotations,
    )


# -- JT/T 808 terminals: phone number <-> device id --------------------------------------------
Phone = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}([0-9]{8})?$")]


class Jt808Enrol(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: Phone


class Jt808Public(BaseModel):
    device_id: str
    phone: str
    has_auth_code: bool
    registered_at: datetime | None
    authenticated_at: datetime | None


@router.put("/devices/{device_id}/jt808", response_model=Jt808Public)
async def enrol_jt808(
    device_id: DeviceId, body: Jt808Enrol, p: CurrentUser, conn: Conn
) -> Jt808Public:
    """Enrol (or re-number) a vehicle tracker's JT/T 808 terminal phone number."""
    e = await jt808_enrol.enrol(conn, p, device_id, body.phone)
    return Jt808Public(**asdict(e))


@router.get("/devices/{device_id}/jt808", response_model=Jt808Public)
async def get_jt808(device_id: DeviceId, p: CurrentUser, conn: Conn) -> Jt808Public:
    e = await jt808_enrol.get(conn, p, device_id)
    if e is None:
        raise NotFound(f"device {device_id} has no JT/T 808 enrolment")
    return Jt808Public(**asdict(e))


@router.delete("/devices/{device_id}/jt808", status_code=204)
async def unenrol_jt808(device_id: DeviceId, p: CurrentUser, conn: Conn) -> Response:
    await jt808_enrol.unenrol(conn, p, device_id)
    return Response(status_code=204)
