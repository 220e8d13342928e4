"""A device's broker identity: issue/rotate its MQTT credentials, see what the broker has."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, StringConstraints

from hub.api.deps import Conn, CurrentUser, SettingsDep
from hub.domain.errors import Unavailable
from hub.services import broker_access
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
        raise Unavailable("broker provisioning is off on this hub (EHUB_HUB_BROKER_PROVISIONING)")
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
