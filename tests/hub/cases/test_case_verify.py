"""``ehub cases verify`` covers the case file: every case event, document and evidence row is
rebuilt into its log entry and compared with its leaf; a DBA's edit (triggers off) fails the
run, naming the row."""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from ehub.cli import main as ehub_main
from hub.transparency import service, store
from tests.factories.hub import bearer
from tests.helpers import query
from tests.hub.cases import casefix
from tests.hub.cases.test_case_api import clue_body, h
from tests.hub.transparency.helpers import ORIGIN, SIGNER, run

pytestmark = pytest.mark.integration
case_api = casefix.case_api  # the fixture (tests/hub/cases/casefix.py)


def _cli(db_url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    pub = base64.b64encode(SIGNER.public_key).decode()
    code = ehub_main(
        ["cases", "verify", "--database", db_url, "--origin", ORIGIN, "--public-key", pub]
    )
    return code, capsys.readouterr().out


def _as_dba(db_url: str, sql: str, *params: object) -> None:
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # user triggers do not fire
        conn.execute(sql, params)  # type: ignore[arg-type]


def test_a_dba_edit_of_a_case_row_fails_verify_naming_it(case_api, capsys) -> None:
    client, db = case_api
    officer, leader = bearer(client, "a-officer"), bearer(client, "a-supervisor")
    head = bearer(client, "fd-supervisor")
    cid = client.post("/api/v1/cases", json=clue_body(), headers=officer).json()["id"]
    for who, path, body in (
        (officer, "filing", {"officers": ["sa1", "sa3"]}),
        (leader, "approvals/filing/approve", {}),
        (head, "approvals/filing/approve", {}),
    ):
        r = client.post(f"/api/v1/cases/{cid}/{path}", json=body, headers=who)
        assert r.status_code == 200, r.text
    r = client.post(
        f"/api/v1/cases/{cid}/evidence",
        json={
            "evidence_type": "electronic", "sha256": h(3), "source_kind": "upload",
            "collected_by": ["sa1", "sa3"], "collected_at": dt.datetime.now(dt.UTC).isoformat(),
        },
        headers=officer,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    evidence_id = r.json()["evidence_id"]

    async def seal(conn):  # integrate the queue and sign a checkpoint
        await store.sequence_all(conn)
        await service.issue_checkpoint(conn, SIGNER, dt.datetime.now(dt.UTC), force=True)

    run(db, seal)
    code, out = _cli(db, capsys)
    assert code == 0, out
    assert "cases" in out.split("checkers=")[1]

    # A DBA rewrites event 2 (request_filing) to say something else happened.
    _as_dba(db, "UPDATE case_events SET command = 'request_no_filing' WHERE case_id = %s"
            " AND seq = 2", cid)  # fmt: skip
    code, out = _cli(db, capsys)
    assert code == 1
    assert f"PROBLEM cases: case_events {cid} seq 2: the row does not match its log leaf" in out
    assert out.count("PROBLEM cases:") == 1, out

    # ... and the evidence item's hash, and a document's stored bytes.
    _as_dba(db, "UPDATE case_evidence SET sha256 = %s WHERE id = %s", h(4), evidence_id)
    [(doc_id,)] = query(db, "SELECT id FROM case_documents WHERE case_id = %s AND"
                        " doc_type = 'filing_approval'", cid)  # fmt: skip
    _as_dba(db, "UPDATE case_documents SET canonical = '\\x7b7d' WHERE id = %s", doc_id)
    code, out = _cli(db, capsys)
    assert code == 1
    assert f"PROBLEM cases: case_evidence {evidence_id}: the row does not match" in out
    assert f"PROBLEM cases: case_documents {doc_id}: its stored bytes do not hash" in out
    # A payload edit (private, not published) is caught through its hash in the entry.
    _as_dba(db, "UPDATE case_events SET payload = payload || '{\"x\": 1}' WHERE case_id = %s"
            " AND seq = 1", cid)  # fmt: skip
    code, out = _cli(db, capsys)
    assert f"PROBLEM cases: case_events {cid} seq 1: the row does not match" in out
