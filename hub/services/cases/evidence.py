"""Body-cam evidence for a case: the files the hub proposes, the officer's confirmation, and the
integrity marks the evidence register puts on a case's items.

``propose_bodycam`` reads the evidence register (``evidence_files``, from the docks) for files
that a camera recorded while one of the case's officers held it (custody), overlapping the act's
time window, near the case's place (the camera's own fixes while it recorded). Each proposal says
why: who held the camera, how far its nearest fix was, how much of the recording overlaps the
window. Files with no fix while recording (indoors, GNSS off) are proposed too, after the near
ones, saying so; files whose every fix is farther than ``radius_m`` are not proposed. Files
already on the case are left out.

The window: an incident's case starts from the incident's report time, else from the act date
(a whole day in Asia/Shanghai), widened by ``window_minutes`` either side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from hub.domain.cases.commands import EvidenceType
from hub.domain.errors import Conflict, Invalid, NotFound
from hub.domain.principal import Principal
from hub.domain.roles import Action
from hub.repositories import media_evidence as repo
from hub.repositories.media_evidence import Candidate, EvidenceFlag
from hub.services.cases import store as case_store
from hub.services.cases.requests import EvidenceItem

AConn = psycopg.AsyncConnection[Any]
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class Proposal:
    evidence_file_id: int
    camera_id: str
    file_id: str
    officer_id: str  # who held the camera while it recorded
    officer_name: str | None
    started_at: datetime
    ended_at: datetime
    media_type: str
    size_bytes: int
    sha256: str
    integrity: str  # not 'ok': the register flagged it (the case will show the mark)
    position: str  # 'near' | 'no_position' (no fix while recording) | 'no_case_place'
    distance_m: float | None
    fixes: int
    overlap_s: int  # seconds of the recording inside the window
    reason: str


def act_window(
    act_date: date, incident_at: datetime | None, window_minutes: int
) -> tuple[datetime, datetime]:
    widen = timedelta(minutes=window_minutes)
    if incident_at is not None:
        return incident_at - widen, incident_at + widen
    day = datetime.combine(act_date, time(0), SHANGHAI)
    return day - widen, day + timedelta(days=1) + widen


def rank(
    candidates: list[Candidate],
    *,
    start: datetime,
    end: datetime,
    radius_m: float,
    case_has_place: bool,
) -> list[Proposal]:
    """Near files first (nearest, then most overlap), then those that cannot be placed; files
    farther than ``radius_m`` are dropped. Pure."""
    near: list[Proposal] = []
    unplaced: list[Proposal] = []
    for c in candidates:
        overlap = int((min(c.ended_at, end) - max(c.started_at, start)).total_seconds())
        held = f"held by {c.holder_name or c.holder} ({c.holder}) while recording"
        times = f"{overlap // 60} min of the recording inside the act's window"
        if not case_has_place:
            position, why = "no_case_place", "the case has no place to measure from"
        elif c.fixes == 0 or c.distance_m is None:
            position, why = "no_position", "no position: the camera had no fix while recording"
        elif c.distance_m <= radius_m:
            position, why = "near", f"nearest fix {c.distance_m:.0f} m from the case's place"
        else:
            continue
        p = Proposal(
            c.evidence_file_id,
            c.camera_id,
            c.file_id,
            c.holder,
            c.holder_name,
            c.started_at,
            c.ended_at,
            c.media_type,
            c.size_bytes,
            c.sha256,
            c.integrity,
            position,
            c.distance_m if case_has_place else None,
            c.fixes,
            overlap,
            f"{c.camera_id}: {held}; {why}; {times}",
        )
        (near if position == "near" else unplaced).append(p)
    near.sort(key=lambda p: (p.distance_m or 0.0, -p.overlap_s, p.evidence_file_id))
    unplaced.sort(key=lambda p: (-p.overlap_s, p.started_at, p.evidence_file_id))
    return near + unplaced


async def _case(conn: AConn, p: Principal, case_id: str) -> dict[str, Any]:
    p.require(Action.HANDLE_CASES)
    case = await repo.case_reach(conn, case_id)
    return p.visible(case, f"case {case_id}")


def _officers(case: dict[str, Any]) -> list[str]:
    officers = list(case["officers"] or [])
    if case["lead_officer"] and case["lead_officer"] not in officers:
        officers.append(case["lead_officer"])
    return officers


def _with_first(first: str, others: list[str]) -> list[str]:
    return [first, *(o for o in others if o != first)]


async def propose_bodycam(
    conn: AConn,
    p: Principal,
    case_id: str,
    *,
    window_minutes: int = 60,
    radius_m: float = 300,
) -> list[Proposal]:
    """Body-cam files to propose for the case, each with the reason; the officer confirms."""
    if not 0 <= window_minutes <= 7 * 24 * 60:
        raise Invalid("window_minutes must be between 0 and 10080 (evidence.window)")
    if not 0 < radius_m <= 50_000:
        raise Invalid("radius_m must be above 0 and at most 50000 (evidence.radius)")
    case = await _case(conn, p, case_id)
    officers = _officers(case)
    if not officers:
        return []
    start, end = act_window(case["act_date"], case["incident_at"], window_minutes)
    candidates = await repo.bodycam_candidates(
        conn,
        case_id,
        officers=officers,
        start=start,
        end=end,
        lat=case["lat"],
        lon=case["lon"],
    )
    return rank(
        candidates,
        start=start,
        end=end,
        radius_m=radius_m,
        case_has_place=case["lat"] is not None,
    )


async def confirm_bodycam(conn: AConn, p: Principal, case_id: str, evidence_file_id: int) -> str:
    """Add a body-cam file to the case as audiovisual evidence (through the case store, so the
    state machine, the case's history and the transparency log see it); the evidence id.

    The file must have been recorded while one of the case's officers held the camera; the
    window and distance are the proposal's advice, not a rule (the officer knows the scene).
    """
    case = await _case(conn, p, case_id)
    async with conn.transaction():
        # The case's row lock (the case store takes it too, in this same transaction): two
        # confirmations of the same file cannot both pass the "already on the case" check.
        await repo.lock_case(conn, case_id)
        ef = await repo.evidence_file(conn, evidence_file_id)
        if ef is None:
            raise NotFound(f"body-cam file {evidence_file_id} not found")
        holder = await repo.holder_while_recording(
            conn, ef["camera_id"], _officers(case), ef["started_at"], ef["ended_at"]
        )
        if holder is None:
            raise Conflict(
                f"body-cam file {evidence_file_id} was not recorded by a camera held by one of"
                " the case's officers (evidence.bodycam_custody)"
            )
        already = await repo.on_case(conn, case_id, evidence_file_id, ef["sha256"])
        if already is not None:
            raise Conflict(
                f"body-cam file {evidence_file_id} is already evidence {already} of the case"
                " (evidence.already_on_case)"
            )
        item = EvidenceItem(
            evidence_type=EvidenceType.AUDIOVISUAL,
            sha256=ef["sha256"],
            source_kind="bodycam",
            source_ref=str(ef["id"]),
            # The holder first, then the case's other officers: evidence is collected by two
            # certified officers (行政处罚法 Art. 42), which the case's rules check.
            collected_by=_with_first(holder, _officers(case)),
            collected_at=ef["started_at"],
            lat=None,
            lon=None,
            place=None,
            note=f"body camera {ef['camera_id']}, file {ef['file_id']}",
        )
        return await case_store.add_evidence(conn, p, case_id, item)


async def evidence_flags(conn: AConn, case_id: str) -> list[EvidenceFlag]:
    """The case's evidence items marked by the evidence register (hash changed on the dock, or
    the camera's hash differs), for the case detail. The caller has checked reach."""
    return await repo.flags(conn, case_id)


async def case_flags(conn: AConn, p: Principal, case_id: str) -> list[EvidenceFlag]:
    """``evidence_flags`` for a caller: who may read the case (``cases.read``, in reach)."""
    p.require(Action.READ_CASES)
    p.visible(await repo.case_reach(conn, case_id), f"case {case_id}")
    return await evidence_flags(conn, case_id)
