"""The case command API on the real TimescaleDB: an ordinary case carried from a clue to
``archived`` through HTTP, with its events, documents, timers, approval steps and one
transparency-log leaf per event / document / evidence item whose hash matches the row."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib

import psycopg
import pytest

from hub.services.cases import logentries
from hub.transparency import entries, merkle
from hub.transparency import store as tlog
from hub.transparency.verify import verify
from tests.factories.hub import bearer
from tests.helpers import query
from tests.hub.cases import casefix
from tests.hub.cases.casefix import MATTER

pytestmark = pytest.mark.integration
case_api = casefix.case_api  # the fixture (tests/hub/cases/casefix.py)

LAW = "深圳经济特区市容和环境卫生管理条例"
NOW = dt.datetime.now(dt.UTC)
PARTY = {
    "party_type": "citizen",
    "name": "张三",
    "id_type": "id_card",
    "id_number": "440304199001011234",
    "phone": "13800000000",
    "address": "深圳市福田区华强北路1号",
}


def h(n: int) -> str:
    return f"{n:02x}" * 32


def clue_body() -> dict:
    return {
        "matter_code": MATTER,
        "party": PARTY,
        "source": "patrol",
        "act_date": (NOW - dt.timedelta(days=1)).date().isoformat(),
        "description": "巡查发现在华强北路乱张贴小广告",
        "place": "华强北路1号",
        "lat": 22.54,
        "lon": 114.08,
        "officers": ["sa1", "sa3"],
    }


FILING_DOC = {
    "source": "巡查发现",
    "received_at": NOW.isoformat(),
    "facts": "当事人在华强北路张贴小广告",
    "matter": f"{MATTER} 乱张贴",
    "violated": [{"law": LAW, "article": "第二十条"}],
}
INQUIRY_DOC = {
    "started_at": NOW.isoformat(),
    "ended_at": NOW.isoformat(),
    "place": "华强北街道执法队询问室",
    "interviewee": {"kind": "citizen", "name": "张三"},
    "relation": "当事人",
    "rights_told": True,
    "qa": [{"q": "你是否张贴了小广告？", "a": "是的。"}],
    "confirmation": "以上笔录我看过，与我说的相符。",
    "recorder": "赵强",
    "receipt": {"status": "signed", "at": NOW.isoformat()},
}
DECISION_DOC = {
    "facts": "当事人在华强北路张贴小广告",
    "evidence": ["询问笔录", "现场检查笔录", "现场照片"],
    "violated": [{"law": LAW, "article": "第二十条"}],
    "basis": [{"law": LAW, "article": "第二十条"}],
    "penalty": {"kinds": ["fine"], "fine": "300"},
    "payment": {"within_days": 15, "bank": "中国银行深圳分行"},
    "remedies": {"review_body": "深圳市福田区人民政府", "court": "深圳市福田区人民法院"},
    "decided_at": NOW.isoformat(),
}
CLOSING_DOC = {
    "summary": "乱张贴小广告一案",
    "outcome": "罚款300元",
    "execution": "当事人已缴纳罚款",
    "reason": "处罚决定已执行完毕",
}


def test_an_ordinary_case_from_clue_to_archive(case_api) -> None:
    client, db = case_api
    officer = bearer(client, "a-officer")
    leader = bearer(client, "a-supervisor")
    head = bearer(client, "fd-supervisor")

    def post(who: dict, path: str, body: dict, status: int = 200) -> dict:
        r = client.post(f"/api/v1/cases{path}", json=body, headers=who)
        assert r.status_code == status, (path, r.text)
        return r.json()

    case = post(officer, "", clue_body(), 201)
    cid = case["id"]
    assert case["state"] == "clue" and case["seq"] == 1 and case["next_due"] is not None
    # The officers who registered the clue are on the case (the list's officer filter).
    assert query(db, "SELECT officers, lead_officer FROM cases WHERE id = %s", cid) == [
        (["sa1", "sa3"], "sa1")
    ]

    # 立案: requested, approved by the team leader then the department head; number taken.
    c = post(officer, f"/{cid}/filing", {"officers": ["sa1", "sa3"], "document": FILING_DOC})
    assert c["pending_act"] == "filing"
    # The officer may not approve (no cases.approve); another district's supervisor does not
    # see the case; a team's legal reviewer holds no step of this chain.
    url = f"/api/v1/cases/{cid}/approvals/filing/approve"
    assert client.post(url, json={}, headers=officer).status_code == 403
    r = client.post(url, json={}, headers=bearer(client, "lh-supervisor"))
    assert r.status_code == 404, r.text
    r = client.post(url, json={}, headers=bearer(client, "a-legal_reviewer"))
    assert r.status_code == 409 and r.json()["rule"] == "approver_role", r.text
    post(leader, f"/{cid}/approvals/filing/approve", {"opinion": "同意立案"})
    # The team leader holds no department_head step.
    r = client.post(url, json={}, headers=leader)
    assert r.status_code == 409 and r.json()["rule"] == "approver_twice", r.text
    c = post(head, f"/{cid}/approvals/filing/approve", {"opinion": "同意"})
    year = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).year
    assert c["state"] == "filed" and c["number"] == f"深福城执罚〔{year}〕第000001号"

    post(officer, f"/{cid}/inquiries", {"officers": ["sa1", "sa3"], "document": INQUIRY_DOC})
    post(officer, f"/{cid}/inspections", {"officers": ["sa1", "sa3"], "sha256": h(2)})
    r = client.post(
        f"/api/v1/cases/{cid}/evidence",
        json={
            "evidence_type": "audiovisual",
            "sha256": h(3),
            "source_kind": "bodycam",
            "source_ref": "evidence_files:1",
            "collected_by": ["sa1", "sa3"],
            "collected_at": NOW.isoformat(),
            "lat": 22.54,
            "lon": 114.08,
        },
        headers=officer,
    )
    assert r.status_code == 200, r.text
    evidence_id = r.json()["evidence_id"]
    assert (
        post(officer, f"/{cid}/report", {"officers": ["sa1", "sa3"], "sha256": h(4)})["state"]
        == "reported"
    )
    penalty = {"types": ["fine"], "fine": "300"}
    body = {"officers": ["sa1", "sa3"], "sha256": h(5), "penalty": penalty}
    assert post(officer, f"/{cid}/notice", body)["state"] == "notified"
    c = post(officer, f"/{cid}/notice/delivered", {"officers": ["sa1", "sa3"], "sha256": h(6)})
    assert c["state"] == "statement"
    post(officer, f"/{cid}/waiver", {"officers": ["sa1", "sa3"], "sha256": h(7)})
    post(officer, f"/{cid}/decision", {"penalty": penalty, "document": DECISION_DOC})
    post(leader, f"/{cid}/approvals/decision/approve", {})
    assert post(head, f"/{cid}/approvals/decision/approve", {})["state"] == "decided"
    body = {"officers": ["sa1", "sa3"], "sha256": h(8), "method": "direct"}
    assert post(officer, f"/{cid}/service", body)["state"] == "served"
    body = {"kind": "paid", "sha256": h(9)}
    assert post(officer, f"/{cid}/performance", body)["state"] == "performed"
    post(officer, f"/{cid}/closing", {"document": CLOSING_DOC})
    assert post(leader, f"/{cid}/approvals/closing/approve", {})["state"] == "closed"
    final = post(officer, f"/{cid}/archive", {})
    assert final["state"] == "archived" and final["next_due"] is None
    # Nothing leaves archived: a refusal naming the rule.
    r = client.post(f"/api/v1/cases/{cid}/archive", json={}, headers=officer)
    assert r.status_code == 409 and r.json()["rule"] == "final"
    assert r.headers["content-type"].startswith("application/problem+json")

    events = query(db, "SELECT seq, command, state_to FROM case_events WHERE case_id = %s"
                   " ORDER BY seq", cid)  # fmt: skip
    assert (
        [e[0] for e in events]
        == list(range(1, len(events) + 1))
        == list(range(1, final["seq"] + 1))
    )
    assert [e[1] for e in events][:4] == ["open_clue", "request_filing", "approve", "approve"]
    assert events[-1][1:] == ("archive", "archived")

    docs = query(db, "SELECT doc_type, modelled, sha256, canonical, number FROM case_documents"
                 " WHERE case_id = %s ORDER BY issued_at, doc_type", cid)  # fmt: skip
    types = {d[0]: d[1] for d in docs}
    for modelled in ("filing_approval", "inquiry_record", "penalty_decision", "closing_approval"):
        assert types[modelled] is True, modelled
    for recorded in ("case_source_register", "investigation_report", "decision_approval"):
        assert types[recorded] is False, recorded
    for _, _, sha, canonical, number in docs:
        assert hashlib.sha256(bytes(canonical)).hexdigest() == sha
        assert number
    # The inquiry's record hash in the event is the issued document's.
    [(inq_sha,)] = query(db, "SELECT sha256 FROM case_documents WHERE case_id = %s AND"
                         " doc_type = 'inquiry_record'", cid)  # fmt: skip
    [(inq_refs,)] = query(db, "SELECT refs FROM case_events WHERE case_id = %s AND"
                          " command = 'record_inquiry'", cid)  # fmt: skip
    assert inq_sha in str(inq_refs)

    timers = query(db, "SELECT code, stopped_at IS NOT NULL FROM case_timers WHERE case_id = %s",
                   cid)  # fmt: skip
    assert {t[0] for t in timers} >= {"clue_filing", "decision", "statement", "payment"}
    assert all(stopped for _, stopped in timers)

    steps = query(db, "SELECT act, step_index, step_role, hub_role, org_unit_id, decision"
                  " FROM case_approval_steps WHERE case_id = %s ORDER BY id", cid)  # fmt: skip
    assert steps == [
        ("filing", 0, "team_leader", "supervisor", "team-a", "approved"),
        ("filing", 1, "department_head", "supervisor", "futian", "approved"),
        ("decision", 0, "team_leader", "supervisor", "team-a", "approved"),
        ("decision", 1, "department_head", "supervisor", "futian", "approved"),
        ("closing", 0, "team_leader", "supervisor", "team-a", "approved"),
    ]
    assert query(db, "SELECT count(*) FROM audit_log WHERE entity = 'case' AND entity_id = %s",
                 cid)[0][0] == len(events)  # fmt: skip
    # Personal data never reaches the log.
    raw = b"".join(bytes(r[0]) for r in query(db, "SELECT entry FROM tlog_queue"))
    assert "张三".encode() not in raw and b"440304199001011234" not in raw

    # The log: one leaf per event, document and evidence item, each matching its row.
    async def check() -> None:
        async with await psycopg.AsyncConnection.connect(db) as conn:
            await conn.set_autocommit(True)
            await tlog.sequence_all(conn)
            rep = await verify(
                conn, name=None, public_key=None,
                checkers={"cases": logentries.check_case_rows},
            )  # fmt: skip
            assert not [p for p in rep.problems if p.startswith("cases:")], rep.problems
            n_ev = len(events)
            assert rep.size == n_ev + len(docs) + 1
            cur = await conn.execute(
                "SELECT l.entry, l.leaf_hash FROM case_evidence v JOIN tlog_leaves l"
                " ON l.queue_id = v.tlog_queue_id WHERE v.id = %s",
                (evidence_id,),
            )
            entry, leaf = await cur.fetchone()
            assert merkle.leaf_hash(bytes(entry)) == bytes(leaf)
            assert entries.canonical({**__import__("json").loads(bytes(entry))}) == bytes(entry)

    asyncio.run(check())
