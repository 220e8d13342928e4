"""Migration 020 on the real TimescaleDB: the case tables apply, the history tables refuse
updates and deletes, and the 立案 counter gives a rolled-back number back."""

from __future__ import annotations

import psycopg
import pytest

from tests.factories.hub import seed_city

pytestmark = pytest.mark.integration

SNAP = '{"v": 1}'


def _case(conn: psycopg.Connection, case_id: str = "C1") -> None:
    conn.execute(
        "INSERT INTO case_parties (id, party_type, name, created_by)"
        " VALUES ('P1', 'citizen', '张三', 'a-officer') ON CONFLICT DO NOTHING"
    )
    conn.execute(
        "INSERT INTO cases (id, legal_subject, procedure, state, org_unit_id, matter_code,"
        " catalog_version, party_id, source, act_date, discovered_on, opened_by, opened_at,"
        " updated_at, officers, snapshot)"
        " VALUES (%s, 'futian', 'ordinary', 'clue', 'team-a', 'M1', 1, 'P1', 'patrol',"
        " '2026-11-30', '2026-12-01', 'a-officer', now(), now(), '{sa1,sa3}', %s)",
        (case_id, SNAP),
    )


def test_tables_apply_and_history_is_append_only(db_url: str) -> None:
    seed_city(db_url)
    with psycopg.connect(db_url, autocommit=True) as conn:
        _case(conn)
        conn.execute(
            "INSERT INTO case_events (case_id, seq, at, actor, command, kind, state_from,"
            " state_to, payload, payload_sha256, tlog_queue_id)"
            " VALUES ('C1', 1, now(), 'a-officer', 'open_clue', 'transition', 'clue', 'clue',"
            " '{}', repeat('a', 64), 1)"
        )
        conn.execute(
            "INSERT INTO case_documents (id, case_id, doc_type, number, ref, sha256, canonical,"
            " issued_at, issued_by, tlog_queue_id)"
            " VALUES ('D1', 'C1', 'decision', 'N1', 'C1', repeat('b', 64), '\\x7b7d', now(),"
            " 'a-officer', 2)"
        )
        conn.execute(
            "INSERT INTO case_evidence (id, case_id, evidence_type, sha256, source_kind,"
            " collected_by, collected_at, added_by, added_at, tlog_queue_id)"
            " VALUES ('E1', 'C1', 'audiovisual', repeat('c', 64), 'bodycam', '{sa1}', now(),"
            " 'a-officer', now(), 3)"
        )
        for table, key in (
            ("case_events", "seq = 1"),
            ("case_documents", "id = 'D1'"),
            ("case_evidence", "id = 'E1'"),
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(f"UPDATE {table} SET case_id = case_id WHERE {key}")
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(f"DELETE FROM {table} WHERE {key}")
        # A document number is unique per type.
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(
                "INSERT INTO case_documents (id, case_id, doc_type, number, ref, sha256,"
                " canonical, issued_at, issued_by, tlog_queue_id)"
                " VALUES ('D2', 'C1', 'decision', 'N1', 'C1', repeat('b', 64), '\\x7b7d',"
                " now(), 'a-officer', 4)"
            )
        # One open approval step per case.
        conn.execute(
            "INSERT INTO case_approval_steps (case_id, act, step_index, step_role, hub_role,"
            " org_unit_id, requested_at, requested_by)"
            " VALUES ('C1', 'filing', 0, 'team_leader', 'supervisor', 'team-a', now(), 'x')"
        )
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(
                "INSERT INTO case_approval_steps (case_id, act, step_index, step_role, hub_role,"
                " org_unit_id, requested_at, requested_by)"
                " VALUES ('C1', 'filing', 1, 'department_head', 'supervisor', 'futian', now(),"
                " 'x')"
            )
        # The list's officer filter uses the GIN index's operator.
        rows = conn.execute("SELECT id FROM cases WHERE officers @> '{sa3}'").fetchall()
        assert rows == [("C1",)]


def test_number_counter_gives_a_rolled_back_number_back(db_url: str) -> None:
    take = (
        "INSERT INTO case_number_counters (legal_subject, year, last) VALUES ('futian', 2026, 1)"
        " ON CONFLICT (legal_subject, year) DO UPDATE SET last = case_number_counters.last + 1"
        " RETURNING last"
    )
    with psycopg.connect(db_url) as conn:
        assert conn.execute(take).fetchone() == (1,)
        conn.commit()
        assert conn.execute(take).fetchone() == (2,)
        conn.rollback()
        assert conn.execute(take).fetchone() == (2,)
        conn.commit()
