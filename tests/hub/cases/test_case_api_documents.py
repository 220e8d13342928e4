"""More of the case file through the API: a 责令改正 before 立案, a rejected filing asked again,
a 先行登记保存 approved and ended, the 告知书 and its 送达回证 — each modelled document issued
through prepare() from the command's contents — and a 撤案 that ends the case."""

from __future__ import annotations

import asyncio
import datetime as dt

import psycopg
import pytest

from hub.services.cases import logentries
from hub.transparency import store as tlog
from hub.transparency.verify import verify
from tests.factories.hub import bearer
from tests.helpers import query
from tests.hub.cases import casefix
from tests.hub.cases.test_case_api import LAW, clue_body, h

pytestmark = pytest.mark.integration
case_api = casefix.case_api  # the fixture (tests/hub/cases/casefix.py)
NOW = dt.datetime.now(dt.UTC)
TWO = ["sa1", "sa3"]
REF = [{"law": LAW, "article": "第二十条"}]


def test_orders_measures_notices_and_a_withdrawal(case_api) -> None:
    client, db = case_api
    officer, leader = bearer(client, "a-officer"), bearer(client, "a-supervisor")
    head = bearer(client, "fd-supervisor")

    def post(who: dict, path: str, body: dict, status: int = 200) -> dict:
        r = client.post(f"/api/v1/cases{path}", json=body, headers=who)
        assert r.status_code == status, (path, r.text)
        return r.json()

    cid = post(officer, "", clue_body(), 201)["id"]
    order = {
        "facts": "当事人在华强北路张贴小广告",
        "place": "华强北路1号",
        "violated": REF,
        "basis": REF,
        "requirement": "立即清除所张贴的小广告",
        "deadline": (NOW + dt.timedelta(days=2)).isoformat(),
    }
    due = (NOW + dt.timedelta(days=2)).date().isoformat()
    c = post(officer, f"/{cid}/orders", {"officers": TWO, "due": due, "document": order})
    assert c["state"] == "clue" and len(c["documents"]) == 1
    # An incomplete document is refused naming what the law requires, and nothing is written.
    bad = {k: v for k, v in order.items() if k != "requirement"}
    r = client.post(f"/api/v1/cases/{cid}/orders", json={"officers": TWO, "due": due,
                    "document": bad}, headers=officer)  # fmt: skip
    assert r.status_code == 422 and "what must be corrected is missing" in r.text, r.text
    assert query(db, "SELECT seq FROM cases WHERE id = %s", cid) == [(c["seq"],)]

    # 立案 rejected by the head, asked again, approved.
    post(officer, f"/{cid}/filing", {"officers": TWO})
    post(leader, f"/{cid}/approvals/filing/approve", {})
    c = post(head, f"/{cid}/approvals/filing/reject", {"reason": "证据不足，补充后再报"})
    assert c["state"] == "clue" and c["pending_act"] is None
    post(officer, f"/{cid}/filing", {"officers": TWO})
    post(leader, f"/{cid}/approvals/filing/approve", {})
    assert post(head, f"/{cid}/approvals/filing/approve", {})["state"] == "filed"

    inspection = {
        "started_at": NOW.isoformat(),
        "ended_at": NOW.isoformat(),
        "place": "华强北路1号",
        "certificates_shown": True,
        "findings": "墙面张贴小广告12张",
    }
    post(officer, f"/{cid}/inspections", {"officers": TWO, "document": inspection})
    preservation = {
        "facts": "当事人存放待张贴小广告一批",
        "basis": [{"law": "中华人民共和国行政处罚法", "article": "第五十六条"}],
        "items": [{"name": "小广告", "quantity": "500", "unit": "张"}],
        "kept_at": "华强北街道执法队仓库",
    }
    body = {"officers": TWO, "sha256": h(11), "ref": "pr-1", "document": preservation}
    c = post(officer, f"/{cid}/preservations", body)
    assert c["pending_act"] == "preservation"
    post(leader, f"/{cid}/approvals/preservation/approve", {})
    post(head, f"/{cid}/approvals/preservation/approve", {})
    post(officer, f"/{cid}/preservations/end", {"officers": TWO, "sha256": h(12), "ref": "pr-1"})
    post(officer, f"/{cid}/report", {"officers": TWO, "sha256": h(13)})
    notice = {
        "facts": "当事人在华强北路张贴小广告",
        "evidence": ["现场检查笔录"],
        "violated": REF,
        "basis": REF,
        "proposed": {"kinds": ["fine"], "fine": "200"},
        "contact": "华强北街道执法队，电话0755-00000000",
    }
    pen = {"types": ["fine"], "fine": "200"}
    c = post(officer, f"/{cid}/notice", {"officers": TWO, "penalty": pen, "document": notice})
    assert c["state"] == "notified"
    [(notice_number,)] = query(db, "SELECT number FROM case_documents WHERE case_id = %s AND"
                               " doc_type = 'pre_penalty_notice'", cid)  # fmt: skip
    receipt = {
        "documents": [{"title": "行政处罚事先告知书", "number": notice_number}],
        "recipient": "张三",
        "method": "direct",
        "served_at": NOW.isoformat(),
        "receipt": {"status": "signed", "at": NOW.isoformat()},
    }
    c = post(officer, f"/{cid}/notice/delivered", {"officers": TWO, "document": receipt})
    assert c["state"] == "statement"

    withdrawal = {"summary": "乱张贴一案", "reason": "当事人系他人冒名", "requested_by": "李明"}
    post(officer, f"/{cid}/withdrawal", {"reason": "当事人系他人冒名", "document": withdrawal})
    post(leader, f"/{cid}/approvals/withdrawal/approve", {})
    c = post(head, f"/{cid}/approvals/withdrawal/approve", {})
    assert c["state"] == "withdrawn" and c["next_due"] is None

    docs = dict(query(db, "SELECT doc_type, modelled FROM case_documents WHERE case_id = %s",
                      cid))  # fmt: skip
    for t in ("rectification_notice", "inspection_record", "preservation_notice",
              "pre_penalty_notice", "service_receipt", "withdrawal_approval"):  # fmt: skip
        assert docs.get(t) is True, (t, docs)
    assert docs["preservation_decision"] is False  # no model: the act's record
    steps = query(db, "SELECT act, step_role, decision FROM case_approval_steps"
                  " WHERE case_id = %s ORDER BY id", cid)  # fmt: skip
    assert steps[:3] == [
        ("filing", "team_leader", "approved"),
        ("filing", "department_head", "rejected"),
        ("filing", "team_leader", "approved"),
    ]
    assert all(d is not None for _, _, d in steps)
    running = query(db, "SELECT code FROM case_timers WHERE case_id = %s AND stopped_at IS NULL",
                    cid)  # fmt: skip
    assert running == []

    async def check() -> list[str]:
        async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
            await tlog.sequence_all(conn)
            rep = await verify(
                conn, name=None, public_key=None, checkers={"cases": logentries.check_case_rows}
            )
            return [p for p in rep.problems if p.startswith("cases:")]

    assert asyncio.run(check()) == []


def test_a_large_fine_goes_past_the_legal_review_and_the_legal_office(case_api) -> None:
    """Art. 58: a fine of 10,000 (citizen) is flagged for 法制审核; the decision's chain is
    team leader -> legal office (a district legal reviewer) -> department head."""
    client, db = case_api
    officer, leader = bearer(client, "a-officer"), bearer(client, "a-supervisor")
    head, legal = bearer(client, "fd-supervisor"), bearer(client, "fd-legal")
    team_legal = bearer(client, "a-legal_reviewer")

    def post(who: dict, path: str, body: dict, status: int = 200) -> dict:
        r = client.post(f"/api/v1/cases{path}", json=body, headers=who)
        assert r.status_code == status, (path, r.text)
        return r.json()

    cid = post(officer, "", {**clue_body(), "matter_code": "SZ-JZ-001"}, 201)["id"]
    post(officer, f"/{cid}/filing", {"officers": TWO})
    post(leader, f"/{cid}/approvals/filing/approve", {})
    post(head, f"/{cid}/approvals/filing/approve", {})
    post(officer, f"/{cid}/report", {"officers": TWO, "sha256": h(21)})
    pen = {"types": ["fine"], "fine": "10000"}
    post(officer, f"/{cid}/notice", {"officers": TWO, "sha256": h(22), "penalty": pen})
    post(officer, f"/{cid}/notice/delivered", {"officers": TWO, "sha256": h(23)})
    post(officer, f"/{cid}/waiver", {"officers": TWO, "sha256": h(24)})
    # No decision before the legal review.
    r = client.post(f"/api/v1/cases/{cid}/decision", json={"penalty": pen}, headers=officer)
    assert r.status_code == 409 and r.json()["rule"] == "legal_review_required", r.text
    # An officer cannot record it (cases.review); a legal reviewer can.
    r = client.post(f"/api/v1/cases/{cid}/review", json={"opinion": "x"}, headers=officer)
    assert r.status_code == 403
    post(legal, f"/{cid}/review", {"opinion": "事实清楚，证据确凿，同意"})
    post(officer, f"/{cid}/decision", {"penalty": pen})
    post(leader, f"/{cid}/approvals/decision/approve", {})
    # The team's legal reviewer does not reach the district: not the legal office.
    r = client.post(f"/api/v1/cases/{cid}/approvals/decision/approve", json={},
                    headers=team_legal)  # fmt: skip
    assert r.status_code == 409 and r.json()["rule"] == "approver_role", r.text
    post(legal, f"/{cid}/approvals/decision/approve", {})
    assert post(head, f"/{cid}/approvals/decision/approve", {})["state"] == "decided"
    steps = query(db, "SELECT step_role, hub_role, org_unit_id, decided_by FROM"
                  " case_approval_steps WHERE case_id = %s AND act = 'decision' ORDER BY id",
                  cid)  # fmt: skip
    assert steps == [
        ("team_leader", "supervisor", "team-a", "a-supervisor"),
        ("legal_office", "legal_reviewer", "futian", "fd-legal"),
        ("department_head", "supervisor", "futian", "fd-supervisor"),
    ]


def test_seizures_corrections_extensions_statements_and_no_filing(case_api) -> None:
    """The remaining commands through the API: 查封扣押 approved, extended once and released;
    a correction approved (a superseding entry, the state unchanged); the decision period
    extended; statements re-examined; and 不予立案 ending another clue."""
    client, db = case_api
    officer, leader = bearer(client, "a-officer"), bearer(client, "a-supervisor")
    head = bearer(client, "fd-supervisor")

    def post(who: dict, path: str, body: dict, status: int = 200) -> dict:
        r = client.post(f"/api/v1/cases{path}", json=body, headers=who)
        assert r.status_code == status, (path, r.text)
        return r.json()

    def approve(act: str, *who: dict) -> dict:
        out: dict = {}
        for w in who:
            out = post(w, f"/{cid}/approvals/{act}/approve", {})
        return out

    cid = post(officer, "", clue_body(), 201)["id"]
    post(officer, f"/{cid}/filing", {"officers": TWO})
    approve("filing", leader, head)
    body = {"officers": TWO, "sha256": h(31), "ref": "sz-1"}
    post(officer, f"/{cid}/seizures", body)
    approve("seizure", leader, head)
    [(due1,)] = query(db, "SELECT due_on FROM case_timers WHERE case_id = %s AND code = 'seizure'",
                      cid)  # fmt: skip
    post(officer, f"/{cid}/seizures/extension", {"ref": "sz-1", "days": 30, "reason": "情况复杂"})
    approve("seizure_extension", leader, head)
    [(due2, stopped)] = query(db, "SELECT due_on, stopped_at FROM case_timers WHERE case_id = %s"
                              " AND code = 'seizure'", cid)  # fmt: skip
    assert stopped is None and (due2 - due1).days == 30
    post(officer, f"/{cid}/seizures/release", {"officers": TWO, "sha256": h(32), "ref": "sz-1"})
    c = post(officer, f"/{cid}/corrections",
             {"target_seq": 2, "new_sha256": h(33), "reason": "承办人姓名笔误"})  # fmt: skip
    assert c["pending_act"] == "correction"
    c = approve("correction", leader, head)
    assert c["state"] == "filed" and c["pending_act"] is None
    post(officer, f"/{cid}/decision-extension", {"reason": "案情复杂，需延长办案期限"})
    approve("decision_extension", leader, head)
    post(officer, f"/{cid}/report", {"officers": TWO, "sha256": h(34)})
    pen = {"types": ["fine"], "fine": "100"}
    post(officer, f"/{cid}/notice", {"officers": TWO, "sha256": h(35), "penalty": pen})
    post(officer, f"/{cid}/notice/delivered", {"officers": TWO, "sha256": h(36)})
    post(officer, f"/{cid}/statements", {"officers": TWO, "sha256": h(37)})
    c = post(officer, f"/{cid}/re-examination", {"officers": TWO, "sha256": h(38)})
    assert c["state"] == "statement"
    post(officer, f"/{cid}/decision", {"penalty": pen})
    assert approve("decision", leader, head)["state"] == "decided"
    kinds = {r[0] for r in query(db, "SELECT doc_type FROM case_documents WHERE case_id = %s",
                                 cid)}  # fmt: skip
    recorded = {
        "seizure_decision",
        "seizure_extension",
        "seizure_release",
        "correction_approval",
        "decision_extension_approval",
        "statement_record",
        "re_examination",
    }
    assert recorded <= kinds
    [(refs,)] = query(db, "SELECT refs FROM case_events WHERE case_id = %s AND"
                      " command = 'approve' AND refs->>'correction' = 'true'", cid)  # fmt: skip
    assert refs["target_seq"] == "2" and refs["sha256"] == h(33)

    other = post(officer, "", clue_body(), 201)["id"]
    post(officer, f"/{other}/no-filing", {"reason": "不属于本机关管辖"})
    post(leader, f"/{other}/approvals/no_filing/approve", {})
    c = post(head, f"/{other}/approvals/no_filing/approve", {})
    assert c["state"] == "not_filed" and c["next_due"] is None
    r = client.post(f"/api/v1/cases/{other}/filing", json={"officers": TWO}, headers=officer)
    assert r.status_code == 409 and r.json()["rule"] == "final"
