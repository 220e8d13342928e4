"""当场处罚 reaching the hub: the document a terminal printed becomes a case, filed (备案,
Art. 52) in the same transaction (the on-the-spot engineer's MQTT handler calls
``file_on_spot``; ``hub.services.cases.store`` re-exports it)::

    document ─rehash (refuse a mismatch)─> already stored for (terminal, number)? ─> same case
             ─> matter (explicit, or the only catalog matter citing its violated/basis refs)
             ─> officers by certificate number (staff.badge_no) ─> party record
             ─> onspot.open_on_spot ─> FileOnSpot (the hub registers it) ─> stored as issued

The document is stored byte for byte as the terminal's canonical form, ``printed_at_scene``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import Decimal
from typing import Any

from hub.domain.cases import commands as c
from hub.domain.cases import lifecycle
from hub.domain.cases.effects import IssueDocument
from hub.domain.cases.guards import local_day
from hub.domain.cases.law import Officer, PartyType, Penalty, PenaltyType
from hub.domain.errors import Invalid
from hub.repositories import audit
from hub.repositories.cases import casefile as repo
from hub.services.cases import lookups, writer
from hub.services.cases.catalog import current
from hub.services.cases.documents import Built
from schemas.documents import OnSpotDecision, canonical_bytes


def _matter_for(catalog: Any, doc: OnSpotDecision) -> Any:
    """The one catalog matter whose provisions cite every ref of the document."""
    refs = [*doc.violated, *doc.basis]
    if not refs:
        return None
    hits = [
        m
        for m in catalog.matters.values()
        if all(
            r.law in (m.violated_provision + m.penalty_provision)
            and r.article in (m.violated_provision + m.penalty_provision)
            for r in refs
        )
    ]
    return hits[0] if len(hits) == 1 else None


async def file_on_spot(
    conn: Any,
    doc: OnSpotDecision,
    *,
    terminal_id: str,
    reported_sha256: str,
    received_at: dt.datetime,
    matter_code: str | None = None,
) -> str:
    """Record a terminal's on-the-spot decision as a filed case; returns its case id.
    Idempotent on (terminal_id, number)."""
    raw = canonical_bytes(doc)
    sha = hashlib.sha256(raw).hexdigest()
    if sha != reported_sha256:
        raise Invalid(
            f"the on-the-spot decision {doc.number} does not hash to what terminal"
            f" {terminal_id} reported ({reported_sha256} reported, {sha} computed)",
            rule="document_hash",
        )
    async with conn.transaction():
        found = await repo.case_of_terminal_document(conn, terminal_id, doc.number)
        if found is not None:
            return found
        version, catalog = await current(conn)
        if matter_code is not None:
            matter = catalog.matters.get(matter_code)
            if matter is None:
                raise Invalid(f"no matter {matter_code!r} in the catalog", rule="matter")
        else:
            matter = _matter_for(catalog, doc)
            if matter is None:
                raise Invalid(
                    f"cannot tell the matter of {doc.number} from its legal refs: give matter_code",
                    rule="matter",
                )
        subject = catalog.legal_subjects[matter.legal_subject]
        if doc.subject.code != subject.code:
            raise Invalid(
                f"{doc.number} is in the name of {doc.subject.code}, the matter's legal subject"
                f" is {subject.code}",
                rule="legal_subject",
            )
        certs = [o.certificate_no for o in doc.officers if o.certificate_no]
        by_cert = {
            r["badge_no"]: (r["staff_id"], r["org_unit_id"])
            for r in await repo.staff_by_certificates(conn, certs)
        }
        unknown = [n for n in certs if n not in by_cert]
        if unknown or len(certs) < len(doc.officers):
            raise Invalid(
                f"officers of {doc.number} without a known certificate number:"
                f" {', '.join(unknown) or 'a certificate number is missing'}",
                rule="two_certified_officers",
            )
        staff_ids = [by_cert[n][0] for n in certs]
        named: tuple[Officer, ...] = await lookups.officers(conn, staff_ids)
        unit = by_cert[certs[0]][1]
        party = doc.party
        if party is None:
            raise Invalid(f"{doc.number} names no party", rule="party")
        party_id = lookups.new_id("party")
        is_org = party.kind.value == "organisation"
        await repo.insert_party(
            conn,
            {
                "id": party_id,
                "party_type": party.kind.value,
                "name": party.name,
                "id_type": None if is_org or not party.id_number else _id_type(party.id_type),
                "id_number": None if is_org else party.id_number,
                "credit_code": party.id_number if is_org and _credit(party.id_number) else None,
                "legal_representative": party.representative,
                "phone": party.phone,
                "address": party.address,
                "created_by": f"terminal:{terminal_id}",
            },
        )
        terms = doc.penalty
        penalty = Penalty(
            frozenset(PenaltyType(k.value) for k in (terms.kinds if terms else [])),
            terms.fine if terms and terms.fine is not None else Decimal(0),
            (terms.confiscation or "") if terms else "",
        )
        case_id = lookups.new_id("case")
        act_day = local_day(doc.act_at) if doc.act_at else local_day(doc.issued_at)
        cmd = c.OnSpotDecision(
            case_id=case_id,
            subject=subject,
            matter=matter,
            party_type=PartyType(party.kind.value),
            party_id=party_id,
            act_date=act_day,
            severe_harm=False,
            officers=named,
            penalty=penalty,
            number=doc.number,
            terminal_id=terminal_id,
            document_sha256=sha,
            party_signed=doc.receipt.status.value == "signed",
        )
        env = await lookups.env(conn)
        case, effects = lifecycle.open_on_spot(cmd, received_at, env)
        actor = f"terminal:{terminal_id}"
        await writer.insert_case(
            conn,
            case,
            org_unit_id=unit,
            catalog_version=version,
            source="on_spot",
            incident_id=None,
            place=doc.place,
            lat=None,
            lon=None,
            lead=staff_ids[0],
            officer_ids=staff_ids,
            opened_by=actor,
            now=received_at,
        )
        payload = {
            "case_id": case_id,
            "command": "on_spot_decision",
            "terminal_id": terminal_id,
            "document_sha256": sha,
            "matter_code": matter.code,
        }
        w = writer.Writer(
            conn,
            actor=actor,
            actor_staff=staff_ids[0],
            org_unit_id=unit,
            team_name=None,
            payload=payload,
            now=received_at,
            prebuilt={"on_spot_decision": Built("on_spot_decision", doc.number, raw, sha, True)},
            party_row=None,
            named=named,
        )
        # The terminal's document is stored as printed, with the terminal that printed it.
        scene = [e for e in effects if isinstance(e, IssueDocument)]
        rest = [e for e in effects if not isinstance(e, IssueDocument)]
        await w.use_calendar(env.calendar).effects(case, rest, "on_spot_decision")
        for e in scene:
            await w.store_document(
                case_id, w.prebuilt.pop("on_spot_decision"), ref=e.ref, scene=True,
                terminal_id=terminal_id,
            )  # fmt: skip
        await writer.project(conn, case, received_at)
        registrar = c.FileOnSpot(lookups.SYSTEM_REGISTRAR)  # the hub registers it (备案)
        filed, effects2 = lifecycle.transition(case, registrar, received_at, env)
        w2 = writer.Writer(
            conn,
            actor="system:hub",
            actor_staff=None,
            org_unit_id=unit,
            team_name=None,
            payload={"case_id": case_id, "command": "file_on_spot"},
            now=received_at,
            prebuilt={},
            party_row=None,
            named=named,
        )
        await w2.use_calendar(env.calendar).effects(filed, effects2, "file_on_spot")
        await writer.project(conn, filed, received_at)
        await audit.record(
            conn,
            actor,
            "case.on_spot_decision",
            "case",
            case_id,
            org_unit_id=unit,
            after={"number": doc.number, "state": filed.state.value, "sha256": sha},
        )
    return case_id


def _id_type(text: str | None) -> str:
    known = {"居民身份证": "id_card", "身份证": "id_card", "护照": "passport"}
    return known.get(text or "", "other")


def _credit(value: str | None) -> bool:
    return bool(value and re.fullmatch(r"[0-9A-HJ-NPQRTUWXY]{18}", value))
