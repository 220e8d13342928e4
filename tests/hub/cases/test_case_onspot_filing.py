"""A terminal's 当场行政处罚决定书 reaching the hub (store.file_on_spot) on the real database:
re-hashed, resolved to matter / officers / party, opened and filed (备案) in one transaction,
stored byte for byte as printed at the scene; a redelivery stores nothing twice."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from hub.domain.cases.refusals import PenaltyRefused
from hub.domain.errors import Invalid
from hub.services.cases import store
from schemas.documents import OnSpotDecision, canonical_bytes, document_sha256
from schemas.documents.common import (
    Officer,
    PenaltyKind,
    PenaltyTerms,
    Subject,
)
from tests.factories.documents import sample
from tests.factories.hub import bearer
from tests.helpers import query
from tests.hub.cases import casefix
from tests.hub.cases.casefix import MATTER

pytestmark = pytest.mark.integration
case_api = casefix.case_api  # the fixture (tests/hub/cases/casefix.py)
NOW = dt.datetime.now(dt.UTC)
YEAR = NOW.astimezone(dt.timezone(dt.timedelta(hours=8))).year
SUBJECT = Subject(
    code="futian",
    name="深圳市福田区城市管理和综合执法局",
    seal_name="深圳市福田区城市管理和综合执法局",
)


def decision(n: int = 123, fine: int = 100, **kw: Any) -> OnSpotDecision:
    fields: dict[str, Any] = {
        "number": f"深福城执罚〔{YEAR}〕第{n:06d}号",
        "subject": SUBJECT,
        "issued_at": NOW - dt.timedelta(minutes=5),
        "act_at": NOW - dt.timedelta(minutes=25),
        "officers": [
            Officer(name="李明", certificate_no="B0001"),
            Officer(name="赵强", certificate_no="B0003"),
        ],
        "penalty": PenaltyTerms(kinds=[PenaltyKind.FINE], fine=Decimal(fine)),
    }
    doc = sample(OnSpotDecision.TYPE, **(fields | kw))
    assert isinstance(doc, OnSpotDecision)
    return doc


def _file(db: str, doc: OnSpotDecision, **kw: Any) -> str:
    async def go() -> str:
        async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
            args: dict[str, Any] = {
                "terminal_id": "term-a1",
                "reported_sha256": document_sha256(doc),
                "received_at": NOW,
                "matter_code": MATTER,
            }
            args.update(kw)
            return await store.file_on_spot(conn, doc, **args)

    return asyncio.run(go())


def test_an_on_spot_decision_is_filed_once(case_api) -> None:
    _, db = case_api
    doc = decision()
    cid = _file(db, doc)
    [(state, number, proc, unit, officers)] = query(
        db, "SELECT state, number, procedure, org_unit_id, officers FROM cases WHERE id = %s", cid
    )
    assert (state, number, proc, unit) == ("on_spot_filed", doc.number, "simple", "team-a")
    assert sorted(officers) == ["sa1", "sa3"]
    [(canon, sha, scene, term, modelled)] = query(
        db, "SELECT canonical, sha256, printed_at_scene, terminal_id, modelled"
        " FROM case_documents WHERE case_id = %s", cid,
    )  # fmt: skip
    assert bytes(canon) == canonical_bytes(doc)
    assert sha == document_sha256(doc) and scene and term == "term-a1" and modelled
    events = query(db, "SELECT seq, command, state_to FROM case_events WHERE case_id = %s"
                   " ORDER BY seq", cid)  # fmt: skip
    assert events == [(1, "on_spot_decision", "on_spot_decided"), (2, "file_on_spot",
                      "on_spot_filed")]  # fmt: skip
    [(name,)] = query(db, "SELECT p.name FROM cases c JOIN case_parties p ON p.id = c.party_id"
                      " WHERE c.id = %s", cid)  # fmt: skip
    assert name == "张三"
    # The payment timer runs; the party's data is not in the log.
    assert query(db, "SELECT code FROM case_timers WHERE case_id = %s AND stopped_at IS NULL",
                 cid) == [("payment",)]  # fmt: skip
    raw = b"".join(bytes(r[0]) for r in query(db, "SELECT entry FROM tlog_queue"))
    assert "张三".encode() not in raw

    # The public /verify page finds it by (type, number) and by its hash.
    async def find() -> tuple[Any, Any, Any]:
        async with await psycopg.AsyncConnection.connect(db) as conn:
            return (
                await store.find_document(conn, doc_type="on_spot_decision", number=doc.number),
                await store.find_document(conn, sha256=document_sha256(doc)),
                await store.find_document(conn, doc_type="on_spot_decision", number="nope"),
            )

    by_number, by_hash, none = asyncio.run(find())
    assert by_number is not None and by_number == by_hash and none is None
    assert by_number.case_id == cid and by_number.canonical == canonical_bytes(doc)
    assert by_number.printed_at_scene and by_number.modelled
    # Redelivered: the same case, nothing stored twice.
    assert _file(db, doc) == cid
    assert query(db, "SELECT count(*) FROM case_documents")[0][0] == 1
    assert query(db, "SELECT count(*) FROM case_events")[0][0] == 2


def test_refusals_leave_nothing_behind(case_api) -> None:
    _, db = case_api
    doc = decision(124)
    with pytest.raises(Invalid, match="does not hash to what terminal"):
        _file(db, doc, reported_sha256="0" * 64)
    with pytest.raises(Invalid, match="give matter_code"):
        _file(db, doc, matter_code=None)
    # Art. 51: above 200 yuan for a citizen is not an on-the-spot penalty.
    with pytest.raises(PenaltyRefused) as info:
        _file(db, decision(125, fine=300))
    assert info.value.rule.value == "simple_procedure_limits"
    unknown = decision(126, officers=[Officer(name="甲", certificate_no="B0001"),
                                      Officer(name="乙", certificate_no="X9")])  # fmt: skip
    with pytest.raises(Invalid, match="X9"):
        _file(db, unknown)
    for table in ("cases", "case_parties", "case_documents", "case_events", "tlog_queue"):
        assert query(db, f"SELECT count(*) FROM {table}")[0][0] == 0, table


def test_an_on_spot_case_is_paid_closed_and_archived_through_the_api(case_api) -> None:
    client, db = case_api
    cid = _file(db, decision(127))
    officer, leader = bearer(client, "a-officer"), bearer(client, "a-supervisor")
    for who, path, body in (
        (officer, "performance", {"kind": "paid", "sha256": "ab" * 32}),
        (officer, "closing", {}),
        (leader, "approvals/closing/approve", {}),
        (officer, "archive", {}),
    ):
        r = client.post(f"/api/v1/cases/{cid}/{path}", json=body, headers=who)
        assert r.status_code == 200, (path, r.text)
    assert r.json()["state"] == "archived" and r.json()["next_due"] is None
    assert query(db, "SELECT count(*) FROM case_events WHERE case_id = %s", cid) == [(6,)]
