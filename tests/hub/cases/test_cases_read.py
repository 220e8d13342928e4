"""The case read API and the public verify page on the real TimescaleDB, with the case file
written straight into migration 020's tables (the reads must not depend on the write side):
role x object (403 without ``cases.read``, 404 outside reach), every list filter, the deadline
colours against today in Asia/Shanghai, the party masked for roles that only read, the
approvals inbox per account role and unit, the archive PDF, and /verify's verdict."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.security import hash_password
from hub.services.cases.queries import today_shanghai
from hub.transparency import entries
from hub.transparency import store as tlog
from hub.transparency.service import issue_checkpoint
from schemas.documents import DocType, canonical_bytes, document_sha256, verification_url
from tests.factories.documents import sample
from tests.factories.hub import PASSWORD, bearer, seed_city
from tests.helpers import query
from tests.hub.transparency.helpers import SIGNER, settings

pytestmark = pytest.mark.integration
TODAY = today_shanghai()
DOC = sample(DocType.PENALTY_DECISION)


def _seed(db_url: str) -> None:
    seed_city(db_url)
    pw = hash_password(PASSWORD)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (username, password_hash, role, org_unit_id) VALUES"
            " ('fd-legal', %s, 'legal_reviewer', 'futian'),"
            " ('fd-supervisor', %s, 'supervisor', 'futian')",
            (pw, pw),
        )
        conn.execute(
            "INSERT INTO case_parties (id, party_type, name, id_type, id_number, phone,"
            " created_by) VALUES ('P1', 'citizen', '张三丰', 'id_card', '440304199001011234',"
            " '13800000000', 'a-officer')"
        )
        # (id, team, state, matter, officers, next_due, next_warn)
        rows = [
            ("CA-red", "team-a", "filed", "SZ-ZD-001", ["sa1", "sa2"], -1, -5),
            ("CA-yellow", "team-a", "filed", "SZ-SR-001", ["sa1"], 3, -1),
            ("CA-green", "team-a", "clue", "SZ-ZD-001", ["sa2"], 20, 10),
            ("CA-none", "team-a", "archived", "SZ-ZD-001", ["sa1"], None, None),
            ("CB-1", "team-b", "filed", "SZ-ZD-001", ["sb1"], 5, 1),
            ("CC-1", "team-c", "clue", "SZ-ZD-001", ["sc1"], 5, 1),
        ]
        for i, (cid, team, state, matter, officers, due, warn) in enumerate(rows):
            conn.execute(
                "INSERT INTO cases (id, number, legal_subject, procedure, state, org_unit_id,"
                " matter_code, catalog_version, party_id, source, act_date, discovered_on,"
                " opened_by, opened_at, updated_at, officers, lead_officer, next_due,"
                " next_warn, snapshot)"
                " VALUES (%s, %s, 'futian', 'ordinary', %s, %s, %s, 1, 'P1', 'patrol',"
                " %s, %s, 'a-officer', %s, %s, %s, %s, %s, %s, '{}')",
                (
                    cid, f"N-{cid}", state, team, matter, TODAY, TODAY,
                    datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=i),
                    datetime(2026, 11, 1, tzinfo=UTC), officers, officers[0],
                    None if due is None else TODAY + timedelta(days=due),
                    None if warn is None else TODAY + timedelta(days=warn),
                ),
            )  # fmt: skip
        conn.execute(
            "INSERT INTO case_events (case_id, seq, at, actor, actor_staff, command, kind,"
            " state_from, state_to, payload, payload_sha256, tlog_queue_id) VALUES"
            " ('CA-red', 1, now(), 'a-officer', 'sa1', 'open_clue', 'transition', 'clue',"
            " 'clue', '{}', repeat('a', 64), 900001),"
            " ('CA-red', 2, now(), 'a-supervisor', NULL, 'approve', 'approval', 'clue',"
            " 'filed', '{}', repeat('a', 64), 900002)"
        )
        conn.execute(
            "INSERT INTO case_timers (case_id, code, ref, started_on, due_on, warn_on, unit,"
            " length) VALUES ('CA-red', 'decision', 'CA-red', %s, %s, %s, 'calendar', 90)",
            (TODAY - timedelta(days=91), TODAY - timedelta(days=1), TODAY - timedelta(days=5)),
        )
        conn.execute(
            "INSERT INTO case_approval_steps (case_id, act, step_index, step_role, hub_role,"
            " org_unit_id, requested_at, requested_by) VALUES"
            " ('CA-green', 'filing', 0, 'team_leader', 'supervisor', 'team-a', now(), 'a-officer'),"
            " ('CA-yellow', 'decision', 1, 'legal_office', 'legal_reviewer', 'futian', now(),"
            " 'a-officer'),"
            " ('CC-1', 'filing', 0, 'team_leader', 'supervisor', 'team-c', now(), 'x')"
        )

    async def log_document() -> None:
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            sha = document_sha256(DOC)
            async with conn.transaction():
                q = await tlog.append(conn, entries.document_issued(
                    case_id="CA-red", document_id="D1", document_type=DOC.type.value,
                    number=DOC.number, hash=sha, at=DOC.issued_at))  # fmt: skip
                await conn.execute(
                    "INSERT INTO case_documents (id, case_id, doc_type, number, ref, sha256,"
                    " canonical, issued_at, issued_by, tlog_queue_id)"
                    " VALUES ('D1', 'CA-red', %s, %s, 'CA-red', %s, %s, %s, 'a-officer', %s)",
                    (DOC.type.value, DOC.number, sha, canonical_bytes(DOC), DOC.issued_at,
                     q.queue_id),
                )  # fmt: skip
            await issue_checkpoint(conn, SIGNER, datetime.now(UTC))

    asyncio.run(log_document())


@pytest.fixture()
def api(db_url: str) -> Iterator[tuple[TestClient, str]]:
    with TestClient(create_app(settings(db_url))) as client:
        _seed(db_url)
        yield client, db_url


def ids(r: Any) -> list[str]:
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["items"]]


def test_a_role_without_cases_read_is_refused_everywhere(api) -> None:
    client, _ = api
    h = bearer(client, "a-equipment_manager")
    for url in ("/api/v1/cases", "/api/v1/cases/approvals", "/api/v1/cases/CA-red",
                "/api/v1/cases/CA-red/documents/D1.pdf"):  # fmt: skip
        r = client.get(url, headers=h)
        assert r.status_code == 403, url
        assert "cases.read" in r.json()["detail"]


def test_outside_reach_is_not_found(api) -> None:
    client, _ = api
    h = bearer(client, "a-officer")
    assert ids(client.get("/api/v1/cases", headers=h)) == ["CA-none", "CA-green", "CA-yellow",
                                                          "CA-red"]  # fmt: skip
    for url in ("/api/v1/cases/CB-1", "/api/v1/cases/nope", "/api/v1/cases/CB-1/documents/D1.pdf"):
        assert client.get(url, headers=h).status_code == 404, url
    # A document of a case in reach, asked for under another case, is not found either.
    b = bearer(client, "b-equipment_manager")
    assert client.get("/api/v1/cases/CB-1", headers=b).status_code == 403
    city = bearer(client, "city-admin")
    r = client.get("/api/v1/cases", params={"team": "futian"}, headers=city)
    assert set(ids(r)) == {"CA-red", "CA-yellow", "CA-green", "CA-none", "CB-1"}
    # A team outside the caller's reach lists nothing (and says nothing of it).
    assert ids(client.get("/api/v1/cases", params={"team": "team-c"}, headers=h)) == []


def test_filters_and_colours(api) -> None:
    client, _ = api
    h = bearer(client, "a-supervisor")

    def q(**params: Any) -> list[str]:
        return ids(client.get("/api/v1/cases", params=params, headers=h))

    assert q(state="filed") == ["CA-yellow", "CA-red"]
    assert q(matter="SZ-SR-001") == ["CA-yellow"]
    assert q(officer="sa2") == ["CA-green", "CA-red"]
    assert q(colour="red") == ["CA-red"]
    assert q(colour="yellow") == ["CA-yellow"]
    assert q(colour="green") == ["CA-green"]
    assert q(state="filed", officer="sa1", colour="red") == ["CA-red"]
    r = client.get("/api/v1/cases", params={"limit": 2, "offset": 2}, headers=h).json()
    assert r["total"] == 4 and [c["id"] for c in r["items"]] == ["CA-yellow", "CA-red"]
    colours = {c["id"]: c["colour"] for c in client.get("/api/v1/cases", headers=h).json()["items"]}
    assert colours == {"CA-red": "red", "CA-yellow": "yellow", "CA-green": "green", "CA-none": None}
    assert client.get("/api/v1/cases", params={"colour": "blue"}, headers=h).status_code == 422


def test_detail_and_who_sees_the_party(api) -> None:
    client, _ = api
    d = client.get("/api/v1/cases/CA-red", headers=bearer(client, "a-officer")).json()
    assert d["party"]["name"] == "张三丰" and d["party"]["id_number"] == "440304199001011234"
    assert [e["command"] for e in d["events"]] == ["open_clue", "approve"]
    assert d["events"][0]["actor_name"] == "李明"
    assert [(t["code"], t["colour"]) for t in d["timers"]] == [("decision", "red")]
    assert [doc["id"] for doc in d["documents"]] == ["D1"]
    assert [o["staff_id"] for o in d["officer_details"]] == ["sa1", "sa2"]
    # The dispatcher reads cases but acts on none: the party's name masked, nothing else.
    d = client.get("/api/v1/cases/CA-red", headers=bearer(client, "a-dispatcher")).json()
    assert d["party"] == {"party_type": "citizen", "name": "张**", "masked": True}


def test_the_inbox_per_role_and_unit(api) -> None:
    client, _ = api

    def inbox(user: str) -> list[tuple[str, str]]:
        r = client.get("/api/v1/cases/approvals", headers=bearer(client, user))
        assert r.status_code == 200, r.text
        return [(s["case_id"], s["act"]) for s in r.json()]

    assert inbox("a-supervisor") == [("CA-green", "filing")]
    assert inbox("a-legal_reviewer") == []  # the legal office's step is the district's
    assert inbox("fd-legal") == [("CA-yellow", "decision")]
    assert inbox("fd-supervisor") == [("CA-green", "filing")]
    assert inbox("a-officer") == []
    assert {c for c, _ in inbox("city-admin")} == {"CA-green", "CA-yellow", "CC-1"}


def test_the_archive_pdf(api) -> None:
    client, _ = api
    r = client.get("/api/v1/cases/CA-red/documents/D1.pdf", headers=bearer(client, "a-officer"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")


def test_the_verify_page(api) -> None:
    client, db_url = api
    path = verification_url("https://x.example", DOC.type, DOC.number).removeprefix(
        "https://x.example"
    )
    r = client.get(path)  # no login
    assert r.status_code == 200, r.text
    assert 'data-status="verified"' in r.text and DOC.number in r.text
    assert DOC.case_number in r.text and document_sha256(DOC) in r.text
    party = DOC.model_dump(mode="json")["party"]
    for personal in (party["name"], party.get("id_number"), party.get("phone")):
        if personal:
            assert personal not in r.text
    r = client.get(f"/verify/{document_sha256(DOC)}")
    assert 'data-status="verified"' in r.text
    for unknown in (f"/verify/{DOC.type.value}/nope", f"/verify/{'0' * 64}", "/verify/x/y/z"):
        r = client.get(unknown)
        assert r.status_code == 404 and 'data-status="unknown"' in r.text, unknown
    # A DBA rewrites the stored document and its hash together: the leaf no longer matches.
    body = canonical_bytes(DOC.model_copy(update={"facts": "经查，当事人无违法行为。"}))
    assert body != canonical_bytes(DOC)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE case_documents DISABLE TRIGGER case_documents_no_update")
        conn.execute(
            "UPDATE case_documents SET canonical = %s, sha256 = %s WHERE id = 'D1'",
            (body, hashlib.sha256(body).hexdigest()),
        )
    r = client.get(path)
    assert 'data-status="not_verified"' in r.text and 'data-broken="leaf"' in r.text


def page_login(c: TestClient, user: str) -> None:
    c.cookies.clear()
    r = c.post("/login", data={"username": user, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303


def test_the_pages_by_role_and_reach(api) -> None:
    client, _ = api
    page_login(client, "a-officer")
    r = client.get("/cases", params={"colour": "red"})
    assert r.status_code == 200 and 'data-case="CA-red"' in r.text and "CA-yellow" not in r.text
    assert 'href="/cases"' in r.text  # the nav entry
    r = client.get("/cases/CA-red")
    assert r.status_code == 200
    for needle in ('data-command="open_clue"', 'data-timer="decision"', 'data-colour="red"',
                   'data-doc="D1"', "张三丰", "/api/v1/cases/CA-red/documents/D1.pdf"):  # fmt: skip
        assert needle in r.text, needle
    r = client.get("/cases/CB-1")
    assert r.status_code == 404 and "没有这个案件" in r.text
    # Pending approval: the officer sees it waiting, with no form to decide it.
    r = client.get("/cases/CA-green")
    assert 'id="pending-act"' in r.text and 'id="decide-pending"' not in r.text
    page_login(client, "a-supervisor")
    r = client.get("/cases/approvals")
    assert 'data-case="CA-green"' in r.text and "CA-yellow" not in r.text
    assert 'id="decide-pending"' in client.get("/cases/CA-green").text
    page_login(client, "a-dispatcher")
    r = client.get("/cases/CA-red", headers={"Accept-Language": "en"})
    assert "张**" in r.text and "440304199001011234" not in r.text
    page_login(client, "a-equipment_manager")
    r = client.get("/cases")
    assert r.status_code == 403 and 'href="/cases"' not in r.text


def test_reprint_goes_to_the_officers_paired_printer(db_url: str, service_mqtt_url) -> None:
    s = settings(db_url, mqtt_url=service_mqtt_url("ehub-hub"))
    with TestClient(create_app(s)) as client:
        _seed(db_url)
        page_login(client, "a-officer")
        url = "/ui/cases/CA-red/documents/D1/reprint"
        hx = {"HX-Request": "true"}
        # Not linked to a staff record yet: no printer to send to, said on the page.
        r = client.post(url, headers=hx)
        assert 'data-result="refused"' in r.text and "staff record" in r.text
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("UPDATE users SET staff_id = 'sa1' WHERE username = 'a-officer'")
            conn.execute(
                "INSERT INTO devices (device_id, device_type, org_unit_id, serial)"
                " VALUES ('term-a1', 'mobile_terminal', 'team-a', 'SN-term-a1')"
            )
        page_login(client, "a-officer")
        r = client.post(url, headers=hx)
        assert 'data-result="refused"' in r.text and "no printer is paired" in r.text
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO printer_pairings (printer_id, terminal_id, officer_id, paired_at)"
                " VALUES ('prn-a1', 'term-a1', 'sa1', now())"
            )
        assert client.post(url).status_code == 403  # a form post without the page's header
        r = client.post(url, headers=hx)
        assert 'data-result="ok"' in r.text, r.text
        [(device, cmd, status, args)] = query(
            db_url, "SELECT device_id, cmd, status, args FROM device_commands"
        )
        assert (device, cmd, status) == ("term-a1", "print", "sent")
        assert args["printer_id"] == "prn-a1" and args["document"]["number"] == DOC.number
        [(actor, after)] = query(
            db_url, "SELECT actor, after FROM audit_log WHERE action = 'case.reprint'"
        )
        assert actor == "a-officer" and after["cmd_id"] == args["job_id"]
        # Outside reach: the same 404 as the read.
        r = client.post("/ui/cases/CB-1/documents/D1/reprint", headers=hx)
        assert 'data-result="refused"' in r.text and "not found" in r.text


def test_the_forms_keep_the_apis_rules(api) -> None:
    client, db_url = api
    hx = {"HX-Request": "true"}
    page_login(client, "a-officer")
    body = {"reason": "不属于本队管辖"}
    # Without the page's header a cookie-carried post is refused (CSRF), with it the store's
    # rules apply: another team's case is not found, whoever asks.
    assert client.post("/ui/cases/CA-green/do/request_no_filing", data=body).status_code == 403
    r = client.post("/ui/cases/CB-1/do/request_no_filing", data=body, headers=hx)
    assert 'data-result="refused"' in r.text and "not found" in r.text
    r = client.post("/ui/cases/CA-green/approvals/filing/approve", data={"opinion": "同意"},
                    headers=hx)  # fmt: skip
    assert 'data-result="refused"' in r.text and "cases.approve" in r.text
    page_login(client, "a-equipment_manager")
    r = client.post("/ui/cases/CA-green/do/request_no_filing", data=body, headers=hx)
    assert 'data-result="refused"' in r.text and "may not" in r.text
    r = client.post("/ui/cases/new", data={"matter_code": "SZ-ZD-001"}, headers=hx)
    assert 'data-result="refused"' in r.text
    r = client.post("/ui/incidents/1/clue", json={"matter_code": "SZ-ZD-001"}, headers=hx)
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem")
    # Nothing was written by any of these.
    assert query(db_url, "SELECT count(*) FROM case_events") == [(2,)]
