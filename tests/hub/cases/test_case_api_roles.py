"""Role x object for every case command endpoint: a role without the action gets 403, a case
(or incident, or unit) outside the caller's reach 404; the one-click clue from an incident;
and 立案 numbers without gaps (a filing refused at its last approval gives its number back)."""

from __future__ import annotations

import datetime as dt

import pytest

from hub.api.routes.cases import COMMANDS
from tests.factories.hub import bearer
from tests.helpers import query
from tests.hub.cases import casefix
from tests.hub.cases.casefix import MATTER
from tests.hub.cases.test_case_api import clue_body, h

pytestmark = pytest.mark.integration
case_api = casefix.case_api  # the fixture (tests/hub/cases/casefix.py)
NOW = dt.datetime.now(dt.UTC)
TWO = ["sa1", "sa3"]
PEN = {"types": ["fine"], "fine": "100"}
# A valid body for each command path (validation runs before the rules).
BODIES: dict[str, dict] = {
    "filing": {"officers": TWO},
    "no-filing": {"reason": "不构成违法"},
    "withdrawal": {"reason": "重复立案"},
    "corrections": {"target_seq": 1, "new_sha256": h(1), "reason": "笔误"},
    "closing": {},
    "decision-extension": {"reason": "案情复杂"},
    "inquiries": {"officers": TWO, "sha256": h(1)},
    "inspections": {"officers": TWO, "sha256": h(1)},
    "orders": {"officers": TWO, "sha256": h(1), "due": "2030-01-01"},
    "orders/outcome": {"officers": TWO, "sha256": h(1), "corrected": True},
    "preservations": {"officers": TWO, "sha256": h(1)},
    "preservations/end": {"officers": TWO, "sha256": h(1), "ref": "p-1"},
    "seizures": {"officers": TWO, "sha256": h(1)},
    "seizures/release": {"officers": TWO, "sha256": h(1), "ref": "s-1"},
    "seizures/extension": {"ref": "s-1", "days": 10, "reason": "情况复杂"},
    "report": {"officers": TWO, "sha256": h(1)},
    "review": {"opinion": "同意"},
    "notice": {"officers": TWO, "sha256": h(1), "penalty": PEN},
    "notice/delivered": {"officers": TWO, "sha256": h(1)},
    "statements": {"officers": TWO, "sha256": h(1)},
    "re-examination": {"officers": TWO, "sha256": h(1)},
    "waiver": {"officers": TWO, "sha256": h(1)},
    "hearing-request": {"sha256": h(1)},
    "hearing": {"officers": TWO, "sha256": h(1), "chair": "sup-a"},
    "decision": {"penalty": PEN},
    "service": {"officers": TWO, "sha256": h(1), "method": "direct"},
    "performance": {"kind": "paid", "sha256": h(1)},
    "on-spot-filing": {},
    "archive": {},
    "evidence": {
        "evidence_type": "electronic", "sha256": h(1), "source_kind": "upload",
        "collected_by": TWO, "collected_at": NOW.isoformat(),
    },
    "approvals/filing/approve": {},
    "approvals/filing/reject": {"reason": "证据不足"},
}  # fmt: skip
APPROVING = {"approvals/filing/approve", "approvals/filing/reject"}


def test_every_command_path_has_a_body_here() -> None:
    assert set(COMMANDS) | {"evidence"} | APPROVING == set(BODIES)


def test_every_endpoint_refuses_a_role_without_the_action_and_hides_other_teams_cases(
    case_api,
) -> None:
    client, db = case_api
    officer = bearer(client, "a-officer")
    cid = client.post("/api/v1/cases", json=clue_body(), headers=officer).json()["id"]
    equipment = bearer(client, "a-equipment_manager")  # no case action at all
    dispatcher = bearer(client, "a-dispatcher")  # opens clues, handles nothing
    other_team = bearer(client, "c-officer")  # team-c: the team-a case is out of reach
    other_district = bearer(client, "lh-supervisor")  # luohu: approves nothing of futian
    before = query(db, "SELECT seq FROM cases WHERE id = %s", cid)
    for path, body in BODIES.items():
        url = f"/api/v1/cases/{cid}/{path}"
        needs_approval = path in APPROVING or path == "review"
        for who in (equipment, officer if needs_approval else dispatcher):
            r = client.post(url, json=body, headers=who)
            assert r.status_code == 403, (path, r.status_code, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
        outsider = other_district if needs_approval else other_team
        if path == "review":
            continue  # no legal reviewer outside futian in this city: 403 covers it
        r = client.post(url, json=body, headers=outsider)
        assert r.status_code == 404, (path, r.status_code, r.text)
    assert query(db, "SELECT seq FROM cases WHERE id = %s", cid) == before
    # Opening: maintenance may not open clues; a unit outside reach is "not found".
    r = client.post("/api/v1/cases", json=clue_body(), headers=bearer(client, "a-maintenance"))
    assert r.status_code == 403
    r = client.post("/api/v1/cases", json={**clue_body(), "org_unit_id": "team-a"},
                    headers=other_team)  # fmt: skip
    assert r.status_code == 404


def test_a_case_opened_directly_is_both_or_neither(case_api) -> None:
    client, db = case_api
    officer = bearer(client, "a-officer")
    r = client.post("/api/v1/cases", json={**clue_body(), "filing": {"officers": TWO}},
                    headers=officer)  # fmt: skip
    assert r.status_code == 201 and r.json()["pending_act"] == "filing", r.text
    # One officer is not enough for 立案 (Art. 42): refused, and no clue is left behind.
    r = client.post("/api/v1/cases", json={**clue_body(), "filing": {"officers": ["sa1"]}},
                    headers=officer)  # fmt: skip
    assert r.status_code == 409 and r.json()["rule"] == "two_certified_officers", r.text
    assert query(db, "SELECT count(*) FROM cases")[0][0] == 1


def test_an_incident_becomes_a_clue_in_one_click(case_api) -> None:
    client, db = case_api
    [(inc,)] = query(
        db,
        "INSERT INTO incidents (org_unit_id, priority, category, description, lat, lon, address,"
        " source, reporter_phone, created_by, reported_at) VALUES ('team-a', 2, 'ads',"
        " '群众举报乱张贴', 22.5, 114.1, '华强北路2号', 'citizen', '13900000000', 'a-dispatcher',"
        " now() - interval '1 hour') RETURNING id",
    )
    url = f"/api/v1/incidents/{inc}/clue"
    body = {"matter_code": MATTER}
    assert client.post(url, json=body, headers=bearer(client, "a-maintenance")).status_code == 403
    assert client.post(url, json=body, headers=bearer(client, "c-officer")).status_code == 404
    dispatcher = bearer(client, "a-dispatcher")  # an account without a staff record
    r = client.post(url, json=body, headers=dispatcher)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    [row] = query(db, "SELECT state, source, incident_id, org_unit_id, place, lat, lon"
                  " FROM cases WHERE id = %s", cid)  # fmt: skip
    assert row == ("clue", "citizen", inc, "team-a", "华强北路2号", 22.5, 114.1)
    # A second click returns the same clue.
    again = client.post(url, json=body, headers=dispatcher)
    assert again.status_code == 201 and again.json()["id"] == cid
    assert query(db, "SELECT count(*) FROM cases")[0][0] == 1


def test_a_refused_filing_gives_its_number_back(case_api) -> None:
    client, db = case_api
    officer, leader = bearer(client, "a-officer"), bearer(client, "a-supervisor")
    head = bearer(client, "fd-supervisor")
    first = client.post("/api/v1/cases", json=clue_body(), headers=officer).json()["id"]
    second = client.post("/api/v1/cases", json=clue_body(), headers=officer).json()["id"]
    for cid in (first, second):
        client.post(f"/api/v1/cases/{cid}/filing", json={"officers": TWO}, headers=officer)
        r = client.post(f"/api/v1/cases/{cid}/approvals/filing/approve", json={}, headers=leader)
        assert r.status_code == 200, r.text
    # sa3's certificate expired meanwhile: the last approval re-checks Art. 42 and refuses.
    query(db, "UPDATE staff SET certificate_expires = '2020-01-01' WHERE staff_id = 'sa3'"
          " RETURNING 1")  # fmt: skip
    r = client.post(f"/api/v1/cases/{first}/approvals/filing/approve", json={}, headers=head)
    assert r.status_code == 409 and r.json()["rule"] == "two_certified_officers", r.text
    assert query(db, "SELECT number FROM cases WHERE id = %s", first) == [(None,)]
    query(db, "UPDATE staff SET certificate_expires = '2030-12-31' WHERE staff_id = 'sa3'"
          " RETURNING 1")  # fmt: skip
    r = client.post(f"/api/v1/cases/{second}/approvals/filing/approve", json={}, headers=head)
    assert r.status_code == 200, r.text
    assert r.json()["number"].endswith("第000001号")
    r = client.post(f"/api/v1/cases/{first}/approvals/filing/approve", json={}, headers=head)
    assert r.json()["number"].endswith("第000002号")
