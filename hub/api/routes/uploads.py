"""Evidence uploads: ``POST /api/v1/uploads`` (multipart: the file and its claimed SHA-256).

The body limit for this path is ``EHUB_HUB_MAX_UPLOAD_BYTES`` (``hub.api.limits.UPLOAD_PATHS``);
the hash is checked while the file is stored (``hub.services.uploads``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from pydantic import AwareDatetime, BaseModel

from hub.api.deps import Conn, CurrentUser
from hub.media import MediaStore, chunks_of
from hub.services import uploads as service

router = APIRouter(prefix="/api/v1", tags=["evidence"])


class UploadPublic(BaseModel):
    id: str
    sha256: str
    size_bytes: int
    media_type: str
    uploaded_by: str
    device_id: str | None
    uploaded_at: datetime
    taken_at: datetime | None
    lat: float | None
    lon: float | None
    storage_uri: str
    case_id: str | None
    evidence_id: str | None


def media(request: Request) -> MediaStore:
    store: MediaStore = request.app.state.media
    return store


@router.post(
    "/uploads",
    status_code=201,
    response_model=UploadPublic,
    responses={200: {"description": "the same file sent again: the first upload"}},
)
async def upload(
    request: Request,
    response: Response,
    conn: Conn,
    p: CurrentUser,
    file: Annotated[UploadFile, File(description="the evidence file")],
    sha256: Annotated[str, Form(description="its SHA-256 as the sender computed it (hex)")],
    case_id: Annotated[str | None, Form(max_length=64)] = None,
    taken_at: Annotated[AwareDatetime | None, Form()] = None,
    lat: Annotated[float | None, Form(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Form(ge=-180, le=180)] = None,
    device_id: Annotated[str | None, Form(max_length=64)] = None,
    note: Annotated[str | None, Form(max_length=2000)] = None,
) -> UploadPublic:
    req = service.UploadRequest(
        sha256=sha256,
        media_type=file.content_type or "application/octet-stream",
        file_name=file.filename[:255] if file.filename else None,
        case_id=case_id or None,
        taken_at=taken_at,
        lat=lat,
        lon=lon,
        device_id=device_id or None,
        note=note or None,
    )
    row, created = await service.upload(conn, media(request), p, chunks_of(file.file), req)
    if not created:
        response.status_code = 200  # the same photo again (a retry): the first upload
    return UploadPublic.model_validate(row, from_attributes=True)
