"""The public verification page of a printed document (no login): ``/verify/{doc_type}/{number}``
(what the QR code carries, ``schemas.documents.canonical``) and ``/verify/{sha256}``.

It shows the document's type and number, the case number, the legal subject, the issue time,
the SHA-256, its leaf index and inclusion proof, and says "verified" only when
``hub.services.cases.verification.judge`` found every link of the chain intact against the
latest signed checkpoint. Never the party's data. An unknown number or hash is a 404 page.
"""

from __future__ import annotations

import base64

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hub.api.deps import Conn, SettingsDep
from hub.services.cases import store, verification
from hub.transparency.checkpoint import Signer
from hub.web.render import page
from schemas.documents import parse_verification_path

router = APIRouter(include_in_schema=False)


def _unknown(request: Request) -> HTMLResponse:
    return page(request, "cases/verify.html", None, status=404, v=None)


@router.get("/verify/{rest:path}")
async def verify_page(request: Request, rest: str, conn: Conn, s: SettingsDep) -> HTMLResponse:
    # The raw path: a number's percent-encoded "/" must not split it (RFC 3986, canonical.py).
    raw = request.scope.get("raw_path", b"").decode("ascii", "replace").split("?")[0]
    try:
        parsed = parse_verification_path(raw)
    except ValueError:
        return _unknown(request)
    if isinstance(parsed, str):
        record = await store.find_document(conn, sha256=parsed)
    else:
        record = await store.find_document(conn, doc_type=parsed[0].value, number=parsed[1])
    if record is None:
        return _unknown(request)
    canonical = bytes(record.canonical)
    facts = verification.facts_of(record.doc_type, record.number or "", canonical, record.sha256)
    evidence = await verification.read_evidence(
        conn, canonical=canonical, sha256=record.sha256, tlog_queue_id=record.tlog_queue_id
    )
    signer: Signer | None = getattr(request.app.state, "transparency_signer", None)
    verdict = verification.judge(
        facts,
        evidence,
        origin=s.hub_log_origin,
        public_key=None if signer is None else signer.public_key,
    )
    return page(
        request,
        "cases/verify.html",
        None,
        v=verdict,
        facts=facts,
        leaf_index=evidence.leaf_index,
        proof=[base64.b64encode(h).decode() for h in evidence.proof],
        root=None if verdict.root is None else base64.b64encode(verdict.root).decode(),
        leaf_hash=None if verdict.leaf_hash is None else verdict.leaf_hash.hex(),
        note=evidence.note,
        heading=verification.heading(facts.doc_type),
    )
