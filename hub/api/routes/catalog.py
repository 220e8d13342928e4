"""The matter catalog (权责清单), its revisions, and discretion standards and recommendations.

Read for every logged-in role; revisions are proposed and decided by the roles allowed
(``catalog.propose`` / ``catalog.approve``: admin, legal_reviewer), never by the same person.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hub.api.deps import Conn, CurrentUser
from hub.domain.cases import discretion
from hub.domain.cases.law import PartyType
from hub.domain.errors import Invalid
from hub.services.cases import catalog as service

router = APIRouter(prefix="/api/v1", tags=["catalog"])

Code = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Amount = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]


class MatterPublic(BaseModel):
    version: int
    code: str
    name: str
    category: str
    category_name: str
    category_name_en: str
    kind: str
    violated_provision: str
    penalty_provision: str
    legal_subject: str
    legal_subject_detail: dict[str, str] | None
    correction_first: bool
    penalty_types: list[str]
    fine_min: str | None
    fine_max: str | None
    per_unit_rate: str | None
    unit: str
    multiple_min: str | None
    multiple_max: str | None
    range_notes: str
    evidence: list[str]
    verified: bool
    note: str


class MatterPage(BaseModel):
    version: int
    total: int
    limit: int
    offset: int
    items: list[MatterPublic]


class RevisionPublic(BaseModel):
    id: int
    target: str
    kind: str
    base_version: int | None
    summary: str
    diff: dict[str, Any]
    state: str
    proposed_by: str
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    catalog_version: int | None = None
    standard: str | None = None


class RevisionDetail(RevisionPublic):
    document: dict[str, Any]


class RevisionPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[RevisionPublic]


class RevisionCreate(BaseModel):
    """``import``: a whole ``document`` (a catalog in the export's format, or a discretion
    standard); ``edit``: one ``matter`` (the fields of a matter as ``GET`` shows them)."""

    model_config = ConfigDict(extra="forbid")
    target: Literal["catalog", "discretion"] = "catalog"
    kind: Literal["import", "edit"]
    summary: Text
    document: dict[str, Any] | None = None
    matter: dict[str, Any] | None = None


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class StandardPublic(BaseModel):
    code: str
    title: str
    issued_by: str
    in_force_from: date
    in_force_to: date | None
    approved_by: str
    approved_at: datetime
    document: dict[str, Any]


class FactsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    party_type: PartyType = PartyType.CITIZEN
    prior_offences_12m: Annotated[int, Field(ge=0, le=1000)] = 0
    area_m2: Amount | None = None
    quantity: Amount | None = None
    refused_to_correct: bool = False
    corrected: bool = False
    harm: discretion.Harm = discretion.Harm.NONE
    minor: bool = False
    serious: bool = False
    party_age: Annotated[int, Field(ge=0, le=150)] | None = None
    incapacity: bool = False
    mitigation: list[discretion.Mitigation] = []
    discovered_on: date | None = None
    life_health_finance: bool = False
    illegal_gains: Amount | None = None


class RecommendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    matter: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    act_date: date
    decided_on: date | None = None
    facts: FactsIn = FactsIn()


class PenaltyOut(BaseModel):
    types: list[str]
    fine: Decimal
    confiscation: str


class RecommendationOut(BaseModel):
    catalog_version: int
    matter: str
    standard: str | None
    standard_title: str | None
    tier: str | None
    tier_label: str | None
    pre_tier: str | None
    penalty: PenaltyOut | None
    fine_band: list[Decimal] | None
    statutory_bounds: list[Decimal] | None
    clamped: bool
    discretionary: bool
    lighter: bool
    correction_first: bool
    simple_procedure: bool
    explanation_zh: list[str]
    explanation_en: list[str]


def recommendation_out(r: discretion.Recommendation, version: int) -> RecommendationOut:
    p = r.penalty
    return RecommendationOut(
        catalog_version=version,
        matter=r.matter,
        standard=r.standard,
        standard_title=r.standard_title,
        tier=r.tier,
        tier_label=r.tier_label,
        pre_tier=r.pre_tier,
        penalty=None
        if p is None
        else PenaltyOut(
            types=sorted(t.value for t in p.types), fine=p.fine, confiscation=p.confiscation
        ),
        fine_band=list(r.fine_band) if r.fine_band else None,
        statutory_bounds=list(r.statutory_bounds) if r.statutory_bounds else None,
        clamped=r.clamped,
        discretionary=r.discretionary,
        lighter=r.lighter,
        correction_first=r.correction_first,
        simple_procedure=r.simple_procedure,
        explanation_zh=list(r.explanation_zh),
        explanation_en=list(r.explanation_en),
    )


@router.get("/catalog/matters", response_model=MatterPage)
async def list_matters(
    p: CurrentUser,
    conn: Conn,
    category: Annotated[str | None, Query(max_length=40)] = None,
    kind: Annotated[Literal["penalty", "coercion", "inspection"] | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> MatterPage:
    version, total, rows = await service.matters(
        conn, p, category=category, kind=kind, q=q, limit=limit, offset=offset
    )
    return MatterPage(
        version=version,
        total=total,
        limit=limit,
        offset=offset,
        items=[MatterPublic(**r) for r in rows],
    )


@router.get("/catalog/matters/{code}", response_model=MatterPublic)
async def get_matter(
    code: Code,
    p: CurrentUser,
    conn: Conn,
    version: Annotated[int | None, Query(ge=1, le=10**6)] = None,
) -> MatterPublic:
    return MatterPublic(**await service.matter(conn, p, code, version))


@router.get("/catalog/revisions", response_model=RevisionPage)
async def list_revisions(
    p: CurrentUser,
    conn: Conn,
    target: Literal["catalog", "discretion"] | None = None,
    state: Literal["proposed", "approved", "rejected"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> RevisionPage:
    total, rows = await service.revisions(
        conn, p, target=target, state=state, limit=limit, offset=offset
    )
    return RevisionPage(
        total=total, limit=limit, offset=offset, items=[RevisionPublic(**r) for r in rows]
    )


@router.get("/catalog/revisions/{revision_id}", response_model=RevisionDetail)
async def get_revision(
    revision_id: Annotated[int, Path(ge=1, le=2**63 - 1)], p: CurrentUser, conn: Conn
) -> RevisionDetail:
    return RevisionDetail(**await service.revision(conn, p, revision_id))


@router.post("/catalog/revisions", response_model=RevisionPublic, status_code=201)
async def propose_revision(body: RevisionCreate, p: CurrentUser, conn: Conn) -> RevisionPublic:
    if body.kind == "import" and body.document is None:
        raise Invalid("an import revision carries the whole document")
    if body.kind == "edit" and body.matter is None:
        raise Invalid("an edit revision carries one matter")
    row = await service.propose(
        conn,
        p,
        target=body.target,
        kind=body.kind,
        document=body.document,
        matter=body.matter,
        summary=body.summary,
    )
    return RevisionPublic(**row)


@router.post("/catalog/revisions/{revision_id}/approve", response_model=RevisionPublic)
async def approve_revision(
    revision_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    p: CurrentUser,
    conn: Conn,
    body: Decision | None = None,
) -> RevisionPublic:
    row = await service.decide(conn, p, revision_id, approve=True, note=body.note if body else None)
    return RevisionPublic(**row)


@router.post("/catalog/revisions/{revision_id}/reject", response_model=RevisionPublic)
async def reject_revision(
    revision_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    body: Decision,
    p: CurrentUser,
    conn: Conn,
) -> RevisionPublic:
    row = await service.decide(conn, p, revision_id, approve=False, note=body.note)
    return RevisionPublic(**row)


@router.get("/discretion/standards", response_model=list[StandardPublic])
async def list_standards(p: CurrentUser, conn: Conn) -> list[StandardPublic]:
    return [StandardPublic(**r) for r in await service.standards(conn, p)]


@router.post("/discretion/recommend", response_model=RecommendationOut)
async def recommend(body: RecommendIn, p: CurrentUser, conn: Conn) -> RecommendationOut:
    facts = discretion.facts_from(body.facts.model_dump())
    rec, version = await service.recommend(
        conn, p, matter_code=body.matter, facts=facts, act_date=body.act_date,
        decided_on=body.decided_on,
    )  # fmt: skip
    return recommendation_out(rec, version)
