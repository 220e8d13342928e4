"""The public, unauthenticated log API, modelled on Certificate Transparency (RFC 9162 §4).

- ``GET /transparency/checkpoint``: the latest signed checkpoint (text/plain, a C2SP note);
- ``GET /transparency/public-key``: the Ed25519 public key, raw 32 bytes in base64;
- ``GET /transparency/entries?start=I&end=J``: leaves I..J-1 (end exclusive, at most
  ``store.MAX_PAGE``), each the base64 of its exact bytes;
- ``GET /transparency/proof/inclusion?index=I&tree_size=N``: RFC 9162 §2.1.3;
- ``GET /transparency/proof/consistency?first=M&second=N``: RFC 9162 §2.1.4.

Hashes are base64. Bad ranges answer 422 problems saying what to fix.
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from hub.api.deps import Conn
from hub.domain.errors import NotFound, Unavailable
from hub.transparency import store
from hub.transparency.checkpoint import Signer

router = APIRouter(prefix="/transparency", tags=["transparency"])

NonNegative = Annotated[int, Query(ge=0, le=2**62)]


class Entry(BaseModel):
    index: int
    entry: str  # base64 of the exact leaf bytes (RFC 8785 JSON)


class Entries(BaseModel):
    entries: list[Entry]


class InclusionProof(BaseModel):
    index: int
    tree_size: int
    hashes: list[str]


class ConsistencyProof(BaseModel):
    first: int
    second: int
    hashes: list[str]


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def _signer(request: Request) -> Signer:
    signer: Signer | None = getattr(request.app.state, "transparency_signer", None)
    if signer is None:
        raise Unavailable(
            "the transparency log has no signing key: set EHUB_HUB_LOG_SIGNING_KEY or"
            " EHUB_HUB_LOG_SIGNING_KEY_FILE (README, Transparency log)"
        )
    return signer


@router.get("/checkpoint", response_class=PlainTextResponse)
async def get_checkpoint(conn: Conn) -> PlainTextResponse:
    cp = await store.latest_checkpoint(conn)
    if cp is None:
        raise NotFound("no checkpoint has been issued yet")
    return PlainTextResponse(cp.note, headers={"Cache-Control": "no-cache"})


@router.get("/public-key", response_class=PlainTextResponse)
async def get_public_key(request: Request) -> PlainTextResponse:
    return PlainTextResponse(_b64(_signer(request).public_key))


@router.get("/entries")
async def get_entries(conn: Conn, start: NonNegative, end: NonNegative) -> Entries:
    rows = await store.entries(conn, start, end)
    return Entries(entries=[Entry(index=i, entry=_b64(e)) for i, e in rows])


@router.get("/proof/inclusion")
async def get_inclusion(conn: Conn, index: NonNegative, tree_size: NonNegative) -> InclusionProof:
    hashes = await store.inclusion_proof(conn, index, tree_size)
    return InclusionProof(index=index, tree_size=tree_size, hashes=[_b64(h) for h in hashes])


@router.get("/proof/consistency")
async def get_consistency(conn: Conn, first: NonNegative, second: NonNegative) -> ConsistencyProof:
    hashes = await store.consistency_proof(conn, first, second)
    return ConsistencyProof(first=first, second=second, hashes=[_b64(h) for h in hashes])
