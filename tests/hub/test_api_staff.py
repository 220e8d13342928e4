"""Org tree, personnel and the citywide blacklist through the hub API, against real TimescaleDB:
Shenzhen's seed, headcounts, registration refused for blacklisted people anywhere in the city,
status changes with dated history, reach (no cross-team read or write), audit of every change
and every check, and national ID numbers never stored in clear."""

from __future__ import annotations

import re
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from ehub.registry import STREET_TEAMS
from hub.api.app import create_app
from hub.domain.errors import Conflict, Invalid, InvalidTransition
from hub.domain.personnel import Change, Placement, StaffKind, StaffStatus, transition
from hub.domain.roles import Role
from hub.seed_shenzhen import DISTRICTS, seed_org, units
from hub.settings import HubSettings
from tests.factories.hub import PASSWORD, seed_city
from tests.factories.staff import national_id, seed_personnel, with_wrong_check_digit
from tests.helpers import query

pytestmark = pytest.mark.integration
SECRET = "s" * 40


@pytest.fixture()
def api(db_url: str) -> Iterator[tuple[TestClient, str]]:
    settings = HubSettings(database_url=db_url, hub_jwt_secret=SECRET, hub_id_hash_key="k" * 40)
    with TestClient(create_app(settings)) as client:
        seed_city(db_url)
        seed_personnel(db_url)
        yield client, db_url


def auth(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def register(client, headers, staff_id, unit, number, kind="auxiliary", badge=None):
    body = {
        "staff_id": staff_id,
        "name": "孙丽",
        "kind": kind,
        "org_unit_id": unit,
        "national_id": number,
        "badge_no": badge,
        "phone": "+86 138 0013 8000",
    }
    return client.post("/api/v1/staff", json=body, headers=headers)


def status(client, headers, staff_id, **body):
    return client.post(f"/api/v1/staff/{staff_id}/status", json=body, headers=headers)


def audit_actions(db_url: str) -> list[tuple[str, str, str]]:
    return query(
        db_url, "SELECT actor, action, coalesce(org_unit_id, '') FROM audit_log ORDER BY id"
    )


# --------------------------------------------------------------------------- seed ---------
def test_shenzhen_seed_has_every_street_and_stable_ids():
    rows = units()
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) == 1 + 10 + 74
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9-]*", i) for i in ids)
    assert [d.id for d in DISTRICTS] == [
        "futian", "luohu", "yantian", "nanshan", "baoan",
        "longgang", "longhua", "pingshan", "guangming", "dapeng",
    ]  # fmt: skip
    per_district = {d.id: len(d.streets) for d in DISTRICTS}
    assert per_district == {
        "futian": 10, "luohu": 10, "yantian": 4, "nanshan": 8, "baoan": 10,
        "longgang": 11, "longhua": 6, "pingshan": 6, "guangming": 6, "dapeng": 3,
    }  # fmt: skip
    streets = [r for r in rows if r["level"] == "street"]
    assert all(r["name"].endswith("街道综合行政执法队") for r in streets)
    assert all(r["name_en"].endswith(" Street Enforcement Team") for r in streets)
    assert all(20 <= r["establishment"] <= 60 for r in streets)


def test_seed_org_is_idempotent_and_holds_the_fleet_teams(db_url):
    with psycopg.connect(db_url) as conn:
        assert seed_org(conn) == 85
    with psycopg.connect(db_url) as conn:
        assert seed_org(conn) == 0
    levels = dict(query(db_url, "SELECT level, count(*) FROM org_units GROUP BY level"))
    assert levels == {"city": 1, "district": 10, "street": 74}
    assert query(
        db_url,
        "SELECT parent_id, name, name_en, establishment FROM org_units WHERE id = 'baoan-xin-an'",
    ) == [("baoan", "新安街道综合行政执法队", "Xin'an Street Enforcement Team", 56)]
    for street in STREET_TEAMS.values():  # where the simulator registers its devices
        assert query(db_url, "SELECT level FROM org_units WHERE id = %s", street) == [("street",)]
    # A figure someone has set is kept when the seed runs again.
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE org_units SET establishment = 77 WHERE id = 'nanshan-yuehai'")
        seed_org(conn)
    assert query(db_url, "SELECT establishment FROM org_units WHERE id = 'nanshan-yuehai'") == [
        (77,)
    ]


# --------------------------------------------------------------------------- org tree -----
def test_org_units_and_headcounts_are_exact_and_scoped(api):
    client, _ = api
    district = auth(client, "fd-supervisor")
    tree = client.get("/api/v1/org-units", headers=district).json()
    assert [(u["id"], u["parent_id"]) for u in tree] == [
        ("futian", "shenzhen"),
        ("team-a", "futian"),
        ("team-b", "futian"),
    ]

    city = client.get("/api/v1/org-units/headcount", headers=auth(client, "city-admin")).json()
    teams = {t["org_unit_id"]: t for t in city["teams"]}
    a = teams["team-a"]
    # sa1 officer + sa2 auxiliary on duty, sa3 on leave, sa4 off duty, sa6 seconded out;
    # sa5 dismissed and sa7 transferred are no longer on the books.
    assert (a["establishment"], a["actual"], a["on_duty"]) == (10, 5, 2)
    assert (a["vacancies"], a["on_leave"], a["seconded_out"]) == (5, 1, 1)
    assert a["by_kind"] == {
        "officer": {"actual": 2, "on_duty": 1},
        "auxiliary": {"actual": 2, "on_duty": 1},
        "patrol": {"actual": 1, "on_duty": 0},
    }
    assert (teams["team-b"]["establishment"], teams["team-b"]["actual"]) == (6, 2)
    assert teams["team-b"]["on_duty"] == 2
    assert (teams["team-c"]["establishment"], teams["team-c"]["actual"]) == (4, 1)
    districts = {d["org_unit_id"]: d for d in city["districts"]}
    assert [districts["futian"][k] for k in ("establishment", "actual", "on_duty")] == [16, 7, 4]
    assert [districts["luohu"][k] for k in ("establishment", "actual", "on_duty")] == [4, 1, 1]
    assert [city["city"][k] for k in ("establishment", "actual", "on_duty")] == [20, 8, 5]
    assert city["city"]["by_kind"]["patrol"] == {"actual": 2, "on_duty": 1}

    fd = client.get("/api/v1/org-units/headcount", headers=district).json()
    assert [t["org_unit_id"] for t in fd["teams"]] == ["team-a", "team-b"]
    assert [d["org_unit_id"] for d in fd["districts"]] == ["futian"] and fd["city"] is None
    team = client.get("/api/v1/org-units/headcount", headers=auth(client, "a-officer")).json()
    assert [t["org_unit_id"] for t in team["teams"]] == ["team-a"]
    assert team["districts"] == [] and team["city"] is None


# --------------------------------------------------------------------------- blacklist ----
def test_blacklisted_in_one_team_is_refused_anywhere_in_the_city_and_checks_are_audited(api):
    client, db_url = api
    number = national_id(101)
    team_a = auth(client, "a-supervisor")
    assert register(client, team_a, "sa9", "team-a", number).status_code == 201
    r = status(
        client,
        team_a,
        "sa9",
        status="dismissed",
        reason="dismissed after disciplinary hearing",
        blacklist={"reason": "extorted street vendors", "approver": "福田区城管局 王局长"},
    )
    assert r.status_code == 200 and r.json()["status"] == "dismissed", r.text

    admin = auth(client, "city-admin")
    again = register(client, admin, "sc9", "team-c", number)
    assert again.status_code == 409, again.text
    problem = again.json()
    assert "citywide blacklist" in problem["detail"]
    assert "extorted street vendors" in problem["detail"]
    assert "福田区城管局 王局长" in problem["detail"]
    assert problem["approver"] == "福田区城管局 王局长" and problem["listed_at"]
    assert "sa9" not in again.text and "team-a" not in again.text  # nothing more of who it was
    assert query(db_url, "SELECT count(*) FROM staff WHERE staff_id = 'sc9'") == [(0,)]

    checks = query(
        db_url,
        "SELECT actor, org_unit_id, after->>'purpose', (after->>'listed')::bool FROM audit_log"
        " WHERE action = 'blacklist.check' ORDER BY id",
    )
    assert checks == [
        ("a-supervisor", "team-a", "registration", False),
        ("city-admin", "team-c", "registration", True),
    ]
    assert [a for _, a, _ in audit_actions(db_url)] == [
        "blacklist.check",
        "staff.create",
        "staff.status.dismissed",
        "blacklist.add",
        "blacklist.check",
    ]
    entry = query(db_url, "SELECT reason, approver, staff_id FROM blacklist")
    assert entry == [("extorted street vendors", "福田区城管局 王局长", "sa9")]

    # The check on its own: answered and audited, for roles that manage staff or the list.
    answer = client.post("/api/v1/blacklist/check", json={"national_id": number}, headers=admin)
    assert answer.status_code == 200
    assert answer.json()["listed"] is True and answer.json()["reason"] == "extorted street vendors"
    clean = client.post(
        "/api/v1/blacklist/check", json={"national_id": national_id(102)}, headers=team_a
    )
    assert clean.json() == {"listed": False, "listed_at": None, "reason": None, "approver": None}
    for role in ("a-officer", "a-equipment_manager", "a-dispatcher"):
        r = client.post(
            "/api/v1/blacklist/check", json={"national_id": number}, headers=auth(client, role)
        )
        assert r.status_code == 403
    assert query(db_url, "SELECT count(*) FROM audit_log WHERE action = 'blacklist.check'") == [
        (4,)
    ]


def test_blacklist_added_directly_blocks_registration_and_refuses_what_it_should(api):
    client, db_url = api
    admin = auth(client, "city-admin")
    number = national_id(201, region="440303", born="19850612")
    body = {"national_id": number, "reason": "forged documents", "approver": "市局 李处长"}
    r = client.post("/api/v1/blacklist", json=body, headers=admin)
    assert r.status_code == 201 and r.json()["listed"] is True, r.text
    dup = client.post("/api/v1/blacklist", json=body, headers=admin)
    assert dup.status_code == 409 and "already on the blacklist" in dup.json()["detail"]
    refused = register(client, auth(client, "fd-supervisor"), "sb9", "team-b", number)
    assert refused.status_code == 409 and "forged documents" in refused.json()["detail"]
    # Only roles with blacklist.manage add to it.
    other = {**body, "national_id": national_id(202)}
    assert (
        client.post("/api/v1/blacklist", json=other, headers=auth(client, "a-officer")).status_code
        == 403
    )
    # Someone still on a team's books is dismissed (with the entry), not listed behind it.
    team_a = auth(client, "a-supervisor")
    assert register(client, team_a, "sa8", "team-a", national_id(203)).status_code == 201
    busy = client.post(
        "/api/v1/blacklist", json={**body, "national_id": national_id(203)}, headers=admin
    )
    assert busy.status_code == 409 and "dismiss them" in busy.json()["detail"]
    # Officers are civil servants: never blacklisted.
    assert register(
        client, team_a, "sa10", "team-a", national_id(204), "officer", "B0010"
    ).is_success
    r = status(
        client,
        team_a,
        "sa10",
        status="dismissed",
        reason="misconduct",
        blacklist={"reason": "x", "approver": "y"},
    )
    assert r.status_code == 409 and "civil servants" in r.json()["detail"]
    assert query(db_url, "SELECT status FROM staff WHERE staff_id = 'sa10'") == [("off_duty",)]
    assert query(db_url, "SELECT count(*) FROM blacklist") == [(1,)]
    assert [a for _, a, _ in audit_actions(db_url)].count("blacklist.add") == 1


def test_a_person_is_registered_once_in_the_city(api):
    client, _ = api
    team_a, team_b = auth(client, "a-supervisor"), auth(client, "fd-supervisor")
    number = national_id(250)
    assert register(client, team_a, "sa9", "team-a", number).status_code == 201
    same = register(client, team_a, "sa11", "team-a", number)
    assert same.status_code == 409 and "already on record as sa9" in same.json()["detail"]
    elsewhere = register(client, auth(client, "b-equipment_manager"), "sb9", "team-b", number)
    assert elsewhere.status_code == 403  # no staff.manage
    r = register(client, team_b, "sb9", "team-b", number)
    assert r.status_code == 409 and "already on record" in r.json()["detail"]
    taken = register(client, team_a, "sa9", "team-a", national_id(251))
    assert taken.status_code == 409 and "staff id sa9 is already taken" in taken.json()["detail"]
    badge = register(client, team_a, "sa12", "team-a", national_id(252), "officer", "B0001")
    assert badge.status_code == 409 and "badge number B0001" in badge.json()["detail"]
    no_badge = register(client, team_a, "sa12", "team-a", national_id(252), "officer")
    assert no_badge.status_code == 422 and "certificate number" in no_badge.json()["detail"]


def test_a_bad_national_id_number_is_refused_with_what_is_wrong(api):
    client, db_url = api
    h = auth(client, "a-supervisor")
    r = register(client, h, "sa9", "team-a", with_wrong_check_digit(national_id(301)))
    assert r.status_code == 422 and "check digit" in r.json()["detail"]
    r = register(client, h, "sa9", "team-a", "44030419900101")
    assert r.status_code == 422 and "17 digits and a check digit" in r.json()["detail"]
    r = client.post("/api/v1/blacklist/check", json={"national_id": "12345"}, headers=h)
    assert r.status_code == 422
    assert query(db_url, "SELECT count(*) FROM staff WHERE staff_id = 'sa9'") == [(0,)]
    assert audit_actions(db_url) == []  # nothing was checked, nothing changed


def test_the_national_id_number_is_never_stored_in_clear(api):
    client, db_url = api
    number = national_id(401, region="440306", born="19920229")
    h = auth(client, "a-supervisor")
    assert register(client, h, "sa9", "team-a", number.lower()).status_code == 201
    client.post("/api/v1/blacklist/check", json={"national_id": number}, headers=h)
    status(
        client, h, "sa9", status="dismissed", reason="x", blacklist={"reason": "r", "approver": "a"}
    )
    tables = query(
        db_url,
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    assert ("staff",) in tables and ("audit_log",) in tables
    for (table,) in tables:
        hits = query(
            db_url,
            f"SELECT count(*) FROM {table} t WHERE t::text LIKE %s OR t::text LIKE %s",
            f"%{number[:17]}%",
            f"%{number[6:14]}{number[14:17]}%",
        )
        assert hits == [(0,)], table
    # The same person is still found: the hash is stored, and equal numbers match.
    assert query(db_url, "SELECT id_hash IS NOT NULL FROM staff WHERE staff_id = 'sa9'") == [
        (True,)
    ]


# --------------------------------------------------------------------------- status -------
def test_transfers_and_secondments_keep_dated_history(api):
    client, db_url = api
    fd = auth(client, "fd-supervisor")
    r = status(
        client, fd, "sa1", status="seconded", seconded_to="team-b", reason="flood season",
        effective_at="2024-03-01T08:00:00+08:00",
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert (r.json()["org_unit_id"], r.json()["seconded_to"]) == ("team-a", "team-b")
    r = status(
        client, fd, "sa1", status="on_duty", reason="back from secondment",
        effective_at="2024-06-01T08:00:00+08:00",
    )  # fmt: skip
    assert (r.json()["status"], r.json()["seconded_to"]) == ("on_duty", None)
    early = status(
        client, fd, "sa1", status="off_duty", reason="x", effective_at="2024-05-01T08:00:00+08:00"
    )
    assert early.status_code == 422 and "kept in order" in early.json()["detail"]
    r = status(
        client, fd, "sa1", status="transferred", org_unit_id="team-b", reason="reassigned",
        effective_at="2024-09-01T08:00:00+08:00",
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert (r.json()["org_unit_id"], r.json()["status"]) == ("team-b", "off_duty")

    history = client.get("/api/v1/staff/sa1/history", headers=fd).json()
    assert [
        (h["effective_at"][:10], h["status"], h["org_unit_id"], h["previous_org_unit_id"],
         h["seconded_to"], h["actor"])
        for h in history
    ] == [
        ("2024-03-01", "seconded", "team-a", None, "team-b", "fd-supervisor"),
        ("2024-06-01", "on_duty", "team-a", "team-a", None, "fd-supervisor"),
        ("2024-09-01", "transferred", "team-b", "team-a", None, "fd-supervisor"),
    ]  # fmt: skip
    # The person now belongs to team B: team A no longer reaches them, team B does.
    assert client.get("/api/v1/staff/sa1", headers=auth(client, "a-supervisor")).status_code == 404
    b = client.get("/api/v1/staff/sa1", headers=auth(client, "b-equipment_manager"))
    assert b.status_code == 200 and b.json()["org_unit_id"] == "team-b"
    # A future effective date is not a schedule.
    r = status(client, fd, "sa1", status="on_duty", reason="x", effective_at="2099-01-01T00:00:00Z")
    assert r.status_code == 422 and "future" in r.json()["detail"]
    actions = [a for _, a, _ in audit_actions(db_url)]
    assert actions == ["staff.status.seconded", "staff.status.on_duty", "staff.status.transferred"]
    before, after = query(
        db_url,
        "SELECT before->>'org_unit_id', after->>'org_unit_id' FROM audit_log"
        " WHERE action = 'staff.status.transferred'",
    )[0]
    assert (before, after) == ("team-a", "team-b")


def test_moves_between_teams_need_reach_over_both(api):
    client, db_url = api
    team_a = auth(client, "a-supervisor")
    for body in (
        {"status": "transferred", "org_unit_id": "team-c", "reason": "x"},
        {"status": "transferred", "org_unit_id": "team-b", "reason": "x"},
        {"status": "seconded", "seconded_to": "team-b", "reason": "x"},
        {"status": "seconded", "seconded_to": "no-such-unit", "reason": "x"},
    ):
        r = status(client, team_a, "sa2", **body)
        assert r.status_code == 404, (body, r.text)
    assert status(client, team_a, "sa2", status="off_duty", reason="shift over").status_code == 200
    assert query(db_url, "SELECT status, org_unit_id FROM staff WHERE staff_id = 'sa2'") == [
        ("off_duty", "team-a")
    ]


@pytest.mark.parametrize(
    ("staff_id", "body", "code", "words"),
    [
        ("sa5", {"status": "on_duty"}, 409, "none (final)"),  # dismissed is final
        ("sa7", {"status": "on_duty"}, 409, "none (final)"),  # transferred out
        ("sa1", {"status": "on_duty"}, 409, "cannot go from on_duty to on_duty"),
        ("sa3", {"status": "seconded", "seconded_to": "team-a"}, 409, "from on_leave"),
        ("sa1", {"status": "transferred"}, 422, "needs org_unit_id"),
        ("sa1", {"status": "seconded"}, 422, "needs seconded_to"),
        ("sa1", {"status": "off_duty", "seconded_to": "team-a"}, 422, "only for seconded"),
        ("sa1", {"status": "transferred", "org_unit_id": "team-a"}, 422, "already their team"),
        (
            "sa2",
            {"status": "on_leave", "blacklist": {"reason": "r", "approver": "a"}},
            422,
            "only when dismissed",
        ),
        ("sa1", {"status": "retired"}, 422, "body.status"),
    ],
)
def test_impossible_status_changes_say_why(api, staff_id, body, code, words):
    client, db_url = api
    before = query(db_url, "SELECT * FROM staff ORDER BY staff_id")
    r = status(client, auth(client, "city-admin"), staff_id, reason="x", **body)
    assert r.status_code == code, r.text
    assert words in r.text
    assert query(db_url, "SELECT * FROM staff ORDER BY staff_id") == before
    assert query(db_url, "SELECT count(*) FROM staff_history") == [(0,)]


# --------------------------------------------------------------------------- reach --------
FOREIGN_CALLS = [
    ("GET", "/api/v1/staff/sb1", None),
    ("GET", "/api/v1/staff/sb1/history", None),
    ("POST", "/api/v1/staff/sb1/status", {"status": "off_duty"}),
    ("POST", "/api/v1/staff/sa2/status", {"status": "seconded", "seconded_to": "team-b"}),
    ("POST", "/api/v1/staff/sa2/status", {"status": "transferred", "org_unit_id": "team-b"}),
]


@pytest.mark.parametrize("role", list(Role))
def test_no_role_of_a_street_team_reads_or_changes_another_teams_people(api, role):
    client, db_url = api
    h = auth(client, f"a-{role.value}")
    before = query(db_url, "SELECT * FROM staff ORDER BY staff_id")
    for method, path, body in FOREIGN_CALLS:
        r = client.request(method, path, json=body and {**body, "reason": "x"}, headers=h)
        assert r.status_code in (403, 404), (role, method, path, r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        if r.status_code == 404:
            assert r.json()["detail"].endswith("not found")
    r = register(client, h, "sb9", "team-b", national_id(501))
    assert r.status_code in (403, 404)
    listing = client.get("/api/v1/staff?org_unit_id=team-b", headers=h).json()
    assert listing["total"] == 0 and listing["items"] == []
    assert query(db_url, "SELECT * FROM staff ORDER BY staff_id") == before
    assert audit_actions(db_url) == []


@pytest.mark.parametrize("role", list(Role))
def test_only_roles_that_manage_staff_register_or_change_them(api, role):
    client, db_url = api
    h = auth(client, f"a-{role.value}")
    manages = role in (Role.ADMIN, Role.SUPERVISOR)
    r = register(client, h, "sa9", "team-a", national_id(601))
    assert r.status_code == (201 if manages else 403), r.text
    r = status(client, h, "sa2", status="on_leave", reason="annual leave")
    assert r.status_code == (200 if manages else 403), r.text
    # Every role reads its own team.
    page = client.get("/api/v1/staff?kind=auxiliary&limit=2", headers=h).json()
    assert page["total"] == (4 if manages else 3)
    assert [s["staff_id"] for s in page["items"]] == ["sa2", "sa4"]
    assert client.get("/api/v1/staff/sa2", headers=h).status_code == 200
    if not manages:
        assert audit_actions(db_url) == []


def test_listing_filters_and_pages(api):
    client, _ = api
    h = auth(client, "fd-supervisor")
    everyone = client.get("/api/v1/staff?limit=500", headers=h).json()
    assert everyone["total"] == 9
    on_duty = client.get("/api/v1/staff?status=on_duty", headers=h).json()
    assert [s["staff_id"] for s in on_duty["items"]] == ["sa1", "sa2", "sb1", "sb2"]
    page = client.get("/api/v1/staff?org_unit_id=team-a&limit=2&offset=2", headers=h).json()
    assert page["total"] == 7 and [s["staff_id"] for s in page["items"]] == ["sa3", "sa4"]
    found = client.get("/api/v1/staff", params={"q": "王"}, headers=h).json()
    assert [s["staff_id"] for s in found["items"]] == ["sa2"]
    assert "national_id" not in found["items"][0] and "id_hash" not in found["items"][0]
    bad = client.get("/api/v1/staff?status=retired", headers=h)
    assert bad.status_code == 422


# --------------------------------------------------------------------------- pure rules ---
def test_transition_rules_without_a_database():
    home = Placement(StaffStatus.SECONDED, "team-a", "team-b")
    back = transition(StaffKind.PATROL, home, Change(StaffStatus.OFF_DUTY))
    assert back.placement == Placement(StaffStatus.OFF_DUTY, "team-a", None)
    moved = transition(StaffKind.PATROL, home, Change(StaffStatus.TRANSFERRED, "team-c"))
    assert moved.placement == Placement(StaffStatus.OFF_DUTY, "team-c", None)
    assert moved.recorded_as is StaffStatus.TRANSFERRED
    gone = Placement(StaffStatus.DISMISSED, "team-a")
    for target in StaffStatus:
        with pytest.raises(InvalidTransition):
            transition(StaffKind.AUXILIARY, gone, Change(target))
    on = Placement(StaffStatus.ON_DUTY, "team-a")
    with pytest.raises(Conflict, match="civil servants"):
        transition(StaffKind.OFFICER, on, Change(StaffStatus.DISMISSED, blacklist=True))
    with pytest.raises(Invalid):
        transition(StaffKind.AUXILIARY, on, Change(StaffStatus.OFF_DUTY, blacklist=True))
    listed = transition(StaffKind.AUXILIARY, on, Change(StaffStatus.DISMISSED, blacklist=True))
    assert listed.placement.status is StaffStatus.DISMISSED
