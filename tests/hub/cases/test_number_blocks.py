"""Number blocks on the real TimescaleDB: a supervisor allocates a block of on-the-spot
numbers to a terminal (the command recorded and published), lists each number's state, voids one
(logged with its reason's hash) and returns the rest; roles and reach; and the terminal's own
reports as the hub worker applies them (printed, duplicate, not held, incomplete, malformed)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.services.cases import onspot_reports, starter
from hub.settings import HubSettings
from schemas.documents import DocType, document_sha256
from schemas.documents.common import Receipt
from schemas.messages import Command, NumberBlockArgs, parse_payload
from schemas.topics import Channel, DeviceType
from tests.factories.documents import sample
from tests.factories.hub import bearer, seed_city
from tests.helpers import query

pytestmark = pytest.mark.integration
PREFIX = "深福城执罚"
YEAR = datetime.now(UTC).astimezone(timezone(timedelta(hours=8))).year
FORM = {
    "remedies": {"review_body": "深圳市福田区人民政府", "court": "深圳市福田区人民法院"},
    "payment": {"bank": "中国工商银行深圳福田支行"},
    "team_name": "华强北街道综合行政执法队",
}


class Recorder:
    """The command publisher, recording what the hub sent (the e2e test uses the broker)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.fail = False

    async def publish(self, messages: list[tuple[str, bytes]]) -> None:
        if self.fail:
            raise ConnectionError("broker unreachable")
        self.sent += messages


def seed_cases(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        conn.cursor().executemany(
            "INSERT INTO devices (device_id, device_type, org_unit_id) VALUES (%s, %s, %s)",
            [("term-a1", "mobile_terminal", "team-a"), ("term-a2", "mobile_terminal", "team-a"),
             ("term-c1", "mobile_terminal", "team-c")],
        )  # fmt: skip
        # The officers hold their terminals (the custody rule of a terminal's reports).
        conn.cursor().executemany(
            "INSERT INTO custody (device_id, staff_id, checked_out_at, out_by)"
            " VALUES (%s, %s, now() - interval '60 days', 'test')",
            [("term-a1", "sa1"), ("term-a2", "sa2")],
        )

    async def load() -> None:
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            await starter.load(conn, "clerk", "legal")

    asyncio.run(load())


@pytest.fixture()
def api(db_url: str) -> Iterator[tuple[TestClient, str, Recorder]]:
    s = HubSettings(database_url=db_url, hub_jwt_secret="s" * 40, hub_id_hash_key="k" * 40)
    app = create_app(s)
    rec = Recorder()
    app.state.command_publisher = rec
    with TestClient(app) as client:
        seed_city(db_url)
        seed_cases(db_url)
        yield client, db_url, rec


def number(n: int) -> str:
    return f"{PREFIX}〔{YEAR}〕第{n:06d}号"


def allocate(client: TestClient, who: str, device: str = "term-a1", size: int = 5) -> Any:
    body = {"legal_subject": "futian", "size": size, **FORM}
    return client.post(
        f"/api/v1/devices/{device}/number-blocks", json=body, headers=bearer(client, who)
    )


def test_a_supervisor_allocates_blocks_and_the_terminal_is_sent_them(api):
    client, db_url, rec = api
    r = allocate(client, "a-supervisor")
    assert r.status_code == 201, r.text
    block = r.json()
    assert (block["first"], block["last"], block["year"]) == (1, 5, YEAR)
    assert block["delivery"] == "sent" and block["counts"]["allocated"] == 5
    assert [n["number"] for n in block["numbers"]] == [number(n) for n in range(1, 6)]
    # The command went out on the terminal's command topic and parses as the contract says.
    (topic, payload) = rec.sent[-1]
    assert topic == "ehub/v1/mobile_terminal/term-a1/cmd"
    cmd = Command.model_validate_json(payload)
    args = NumberBlockArgs.model_validate_json(json.dumps(cmd.args))
    assert cmd.cmd == "number_block" and args.block_id == block["block_id"]
    assert args.numbers() == [number(n) for n in range(1, 6)]
    assert args.subject.name == "深圳市福田区城市管理和综合执法局"
    assert args.remedies is not None and args.remedies.court == "深圳市福田区人民法院"
    # The next block continues the series, the counter 立案 numbers are taken from too.
    second = allocate(client, "a-supervisor", "term-a2", size=3).json()
    assert (second["first"], second["last"]) == (6, 8)
    assert query(db_url, "SELECT last FROM case_number_counters") == [(8,)]
    assert query(
        db_url, "SELECT action, entity_id FROM audit_log WHERE action LIKE 'number_block.%%'"
    ) == [
        ("number_block.allocate", block["block_id"]),
        ("number_block.allocate", second["block_id"]),
    ]
    # The terminal's answer moves the command to done: the page shows the block delivered.
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE device_commands SET status = 'done' WHERE cmd_id = %s", (cmd.cmd_id,))
    listed = client.get(
        "/api/v1/devices/term-a1/number-blocks", headers=bearer(client, "a-officer")
    ).json()
    assert [b["delivery"] for b in listed] == ["done"]


def test_void_and_return_account_for_every_number(api):
    client, db_url, _ = api
    allocate(client, "a-supervisor", size=4)
    sup = bearer(client, "a-supervisor")
    url = "/api/v1/devices/term-a1/number-blocks"
    r = client.post(f"{url}/void", json={"number": number(2), "reason": "卡纸"}, headers=sup)
    assert r.status_code == 200 and r.json()["state"] == "voided" and r.json()["reason"] == "卡纸"
    # Voided once: a second time is refused by the ledger's rule, as problem+json.
    again = client.post(f"{url}/void", json={"number": number(2), "reason": "x"}, headers=sup)
    assert again.status_code == 409 and again.json()["rule"] == "case_number"
    assert "already voided" in again.json()["detail"]
    # The reason's hash, not its words, is in the transparency log with the void.
    (entry,) = query(db_url, "SELECT convert_from(entry, 'UTF8') FROM tlog_queue")
    logged = json.loads(entry[0])
    assert logged["kind"] == "number_voided" and logged["number"] == number(2)
    assert logged["reason_code"].startswith("sha256:") and "卡纸" not in entry[0]
    blank = client.post(f"{url}/void", json={"number": number(3), "reason": " "}, headers=sup)
    assert blank.status_code == 422
    r = client.post(f"{url}/return", json={"numbers": [number(3)]}, headers=sup)
    assert r.status_code == 200 and [n["state"] for n in r.json()] == ["returned"]
    rest = client.post(f"{url}/return", json={}, headers=sup).json()
    assert [n["number"] for n in rest] == [number(1), number(4)]
    (block,) = client.get(url, headers=sup).json()
    assert block["counts"] == {"allocated": 0, "printed": 0, "voided": 1, "returned": 3}
    r = client.post(f"{url}/return", json={"numbers": [number(2)]}, headers=sup)
    assert r.status_code == 409 and "already voided" in r.json()["detail"]
    assert len(query(db_url, "SELECT 1 FROM audit_log WHERE action LIKE 'number_block.%%'")) == 4


def test_roles_and_reach(api):
    client, _, rec = api
    allocate(client, "a-supervisor", size=2)
    url = "/api/v1/devices/{d}/number-blocks"
    void = {"number": number(1), "reason": "x"}
    calls = [
        ("post", url, {"legal_subject": "futian", "size": 1}),
        ("get", url, None),
        ("post", url + "/void", void),
        ("post", url + "/return", {}),
    ]
    for method, path, body in calls:
        # An officer reads blocks but may not allocate, void or return.
        officer = bearer(client, "a-officer")
        r = client.request(method, path.format(d="term-a1"), json=body, headers=officer)
        assert r.status_code == (200 if method == "get" else 403), (path, r.text)
        if r.status_code == 403:
            assert "cases.number_blocks" in r.json()["detail"]
        # An equipment manager does not read cases at all.
        em = bearer(client, "a-equipment_manager")
        r = client.request(method, path.format(d="term-a1"), json=body, headers=em)
        assert r.status_code == 403, (path, r.text)
        # A terminal of another district is out of reach: as if it did not exist.
        sup = bearer(client, "a-supervisor")
        r = client.request(method, path.format(d="term-c1"), json=body, headers=sup)
        assert r.status_code == 404, (path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    # Not a terminal; a legal subject the catalog does not have; the broker down.
    r = allocate(client, "a-supervisor", "prn-a1")
    assert r.status_code == 422 and "mobile terminals" in r.json()["detail"]
    r = client.post(
        "/api/v1/devices/term-a1/number-blocks",
        json={"legal_subject": "nanshan", "size": 2},
        headers=bearer(client, "a-supervisor"),
    )
    assert r.status_code == 404 and "nanshan" in r.json()["detail"]
    rec.fail = True
    r = allocate(client, "a-supervisor", size=2)
    assert r.status_code == 503 and "could not be sent" in r.json()["detail"]
    blocks = client.get(
        "/api/v1/devices/term-a1/number-blocks", headers=bearer(client, "a-supervisor")
    ).json()
    assert next(b["delivery"] for b in blocks) == "failed"  # allocated, accounted for, not sent


# ------------------------------------------------------------- the terminal's reports ------
def report(num: str, seq: int, officer: str = "sa1", **doc_changes: Any) -> tuple[Any, bytes]:
    doc = sample_decision(num, **doc_changes)
    raw = json.dumps(
        {
            "v": 1,
            "seq": seq,
            "ts": datetime.now(UTC).isoformat(),
            "event": "on_spot_decision",
            "number": num,
            "matter_code": "SZ-SR-001",
            "officer_id": officer,
            "document": doc.model_dump(mode="json"),
            "sha256": document_sha256(doc),
            "print_result": {
                "job_id": f"j{seq}",
                "printer_id": "prn-a1",
                "state": "printed",
                "pages": 1,
                "at": datetime.now(UTC).isoformat(),
            },
        }
    ).encode()
    return parse_payload(DeviceType.MOBILE_TERMINAL, Channel.EVENT, raw), raw


def sample_decision(num: str, **changes: Any) -> Any:
    doc = sample(DocType.ON_SPOT_DECISION, number=num)
    base = doc.model_copy(update={"subject": doc.subject.model_copy(update={"code": "futian"})})
    return base.model_copy(update=changes)


def test_reports_print_numbers_and_refusals_keep_them_accounted_for(api):
    client, db_url, _ = api
    allocate(client, "a-supervisor", size=4)
    filed: list[dict[str, Any]] = []

    async def fake_file(conn: Any, doc: Any, **kw: Any) -> str:
        filed.append({"number": doc.number, **kw})
        return f"case-{len(filed)}"

    async def run(terminal: str, msg: Any, raw: bytes) -> onspot_reports.Outcome:
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            return await onspot_reports.handle(
                conn, terminal, msg, topic=f"ehub/v1/mobile_terminal/{terminal}/event", raw=raw,
                received_at=datetime.now(UTC), file=fake_file,
            )  # fmt: skip

    msg, raw = report(number(1), 7)
    out = asyncio.run(run("term-a1", msg, raw))
    assert out.accepted and out.case_id == "case-1"
    assert filed[0]["terminal_id"] == "term-a1" and filed[0]["matter_code"] == "SZ-SR-001"
    assert filed[0]["reported_sha256"] == msg.sha256
    # Redelivered (same terminal, same seq): absorbed, nothing filed twice.
    assert asyncio.run(run("term-a1", msg, raw)).detail == "already filed" and len(filed) == 1
    # The same number again in another report: refused, dead-lettered with the reason.
    dup, dup_raw = report(number(1), 8)
    out = asyncio.run(run("term-a1", dup, dup_raw))
    assert not out.accepted and "already printed (case case-1)" in out.detail
    # A terminal that does not hold the number.
    other, other_raw = report(number(2), 3, officer="sa2")
    out = asyncio.run(run("term-a2", other, other_raw))
    assert not out.accepted and "not held by terminal term-a2" in out.detail
    # An officer who does not hold the terminal (custody): refused, like a pairing would be.
    stranger, stranger_raw = report(number(2), 12, officer="sb1")
    out = asyncio.run(run("term-a1", stranger, stranger_raw))
    assert not out.accepted and "checked out to sa1" in out.detail
    # An incomplete document (one officer): refused, its number flagged and still allocated.
    one = sample_decision(number(3)).officers[:1]
    bad, bad_raw = report(number(3), 9, officers=one, receipt=Receipt())
    out = asyncio.run(run("term-a1", bad, bad_raw))
    assert not out.accepted and "at least two officers" in out.detail
    assert len(filed) == 1
    assert query(
        db_url, "SELECT reason, device_id, seq FROM dead_letters ORDER BY seq"
    ) == [("on_spot_refused", "term-a2", 3), ("on_spot_refused", "term-a1", 8),
          ("on_spot_refused", "term-a1", 9), ("on_spot_refused", "term-a1", 12)]  # fmt: skip
    rows = {
        r[0]: r[1:]
        for r in query(db_url, "SELECT number, state, case_id, bad_report FROM block_numbers")
    }
    assert rows[number(1)][:2] == ("printed", "case-1")
    assert rows[number(2)][0] == "allocated" and "checked out to sa1" in rows[number(2)][2]
    assert rows[number(3)][0] == "allocated" and "at least two officers" in rows[number(3)][2]

    # A malformed report (the contract rejects it; the gateway dead-letters it): the number it
    # names is flagged so it stays accounted for.
    junk = json.loads(raw)
    junk.update(seq=10, number=number(4), sha256="not-a-hash")
    junk_raw = json.dumps(junk).encode()
    with pytest.raises(ValueError):
        parse_payload(DeviceType.MOBILE_TERMINAL, Channel.EVENT, junk_raw)

    async def malformed() -> str | None:
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            return await onspot_reports.malformed(
                conn, "term-a1", junk_raw, "schema: sha256", at=datetime.now(UTC)
            )

    assert asyncio.run(malformed()) == number(4)
    (block,) = client.get(
        "/api/v1/devices/term-a1/number-blocks", headers=bearer(client, "a-supervisor")
    ).json()
    assert block["flagged"] == 3 and block["counts"]["allocated"] == 3
    # The supervisor resolves a flagged number by voiding it with a reason; a void or return
    # from the terminal is applied as the terminal's own.
    r = client.post(
        "/api/v1/devices/term-a1/number-blocks/void",
        json={"number": number(4), "reason": "终端上报格式错误，作废"},
        headers=bearer(client, "a-supervisor"),
    )
    assert r.status_code == 200 and r.json()["state"] == "voided"
    ts = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    voided = json.dumps({"v": 1, "seq": 11, "ts": ts, "event": "number_voided",
                         "number": number(3), "reason": "打印错误"}).encode()  # fmt: skip
    vmsg = parse_payload(DeviceType.MOBILE_TERMINAL, Channel.EVENT, voided)
    assert asyncio.run(run("term-a1", vmsg, voided)).accepted
    (r3,) = query(
        db_url, "SELECT state, changed_by FROM block_numbers WHERE number = %s", number(3)
    )
    assert r3 == ("voided", "terminal:term-a1")


def page_login(client: TestClient, user: str) -> None:
    from tests.factories.hub import PASSWORD

    client.cookies.clear()
    r = client.post("/login", data={"username": user, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_device_page_lists_blocks_and_allocates_voids_and_returns(api, lang):
    client, _, rec = api
    hx = {"HX-Request": "true"}
    page_login(client, "a-supervisor")
    client.cookies.set("ehub_lang", lang)
    device = client.get("/devices/term-a1")
    assert device.status_code == 200 and "/ui/devices/term-a1/number-blocks" in device.text
    empty = client.get("/ui/devices/term-a1/number-blocks")
    assert ("尚未分配编号段" if lang == "zh-CN" else "No block allocated yet") in empty.text
    form = {"legal_subject": "futian", "size": "3", "review_body": "深圳市福田区人民政府",
            "court": "深圳市福田区人民法院", "bank": "中国工商银行"}  # fmt: skip
    r = client.post("/ui/devices/term-a1/number-blocks", data=form, headers=hx)
    assert r.status_code == 200 and number(3) in r.text and len(rec.sent) == 1
    assert ("已分配 1–3 号" if lang == "zh-CN" else "Numbers 1–3 allocated") in r.text
    r = client.post(
        "/ui/devices/term-a1/number-blocks/void", data={"number": number(1), "reason": ""},
        headers=hx,
    )  # fmt: skip
    assert ("请填写原因" if lang == "zh-CN" else "Give the reason") in r.text
    r = client.post(
        "/ui/devices/term-a1/number-blocks/void",
        data={"number": number(1), "reason": "卡纸"}, headers=hx,
    )  # fmt: skip
    assert r.status_code == 200 and f"{number(1)}" in r.text
    r = client.post(
        "/ui/devices/term-a1/number-blocks/void",
        data={"number": number(1), "reason": "again"}, headers=hx,
    )  # fmt: skip
    assert "already voided" in r.text  # the service's message, named by its rule
    r = client.post("/ui/devices/term-a1/number-blocks/return", headers=hx)
    assert ("已退回 2 个编号" if lang == "zh-CN" else "2 numbers returned") in r.text
    # Without the header the form is refused (CSRF rule of the pages); an officer sees no forms.
    assert client.post("/ui/devices/term-a1/number-blocks/return").status_code == 403
    page_login(client, "a-officer")
    seen = client.get("/ui/devices/term-a1/number-blocks")
    assert seen.status_code == 200 and "number-block-table" in seen.text
    assert 'hx-post="/ui/devices/term-a1/number-blocks"' not in seen.text
    r = client.post("/ui/devices/term-a1/number-blocks", data=form, headers=hx)
    assert "cases.number_blocks" in r.text and len(rec.sent) == 1
    # Out of reach: as if the terminal did not exist.
    page_login(client, "a-supervisor")
    other = client.get("/ui/devices/term-c1/number-blocks")
    assert "term-c1" in other.text and "not found" in other.text


def test_the_worker_keeps_a_report_it_cannot_apply_and_goes_on(api, monkeypatch):
    """A failure the hub did not foresee (here: the filer raising) is dead-lettered with the
    error and the worker carries on with the next report, which it files."""
    from hub.worker import Delivery, HubWorker

    client, db_url, _ = api
    allocate(client, "a-supervisor", size=2)
    worker = HubWorker(HubSettings(database_url=db_url, mqtt_url="mqtt://127.0.0.1:1"))
    calls: list[str] = []

    async def broken(conn: Any, doc: Any, **kw: Any) -> str:
        calls.append(doc.number)
        if len(calls) == 1:
            raise RuntimeError("disk on fire")
        return "case-ok"

    monkeypatch.setattr(onspot_reports, "file_on_spot", broken)
    topic = "ehub/v1/mobile_terminal/term-a1/event"
    _, raw1 = report(number(1), 21)
    _, raw2 = report(number(2), 22)
    junk = json.dumps({"v": 1, "seq": 23, "ts": "2026-12-01T00:00:00Z", "event": "number_voided",
                       "number": number(2)}).encode()  # fmt: skip
    with psycopg.connect(db_url) as conn:
        for seq, raw in ((21, raw1), (22, raw2), (23, junk)):
            worker.process(conn, Delivery(0, seq, 0, topic, raw))
    assert calls == [number(1), number(2)]
    assert query(db_url, "SELECT reason, seq, detail FROM dead_letters") == [
        ("on_spot_refused", 21, "the hub could not apply it: RuntimeError: disk on fire")
    ]
    rows = dict(query(db_url, "SELECT number, state FROM block_numbers"))
    assert rows == {number(1): "allocated", number(2): "printed"}
    # The malformed void (no reason) is the gateway's dead letter; its number, already
    # printed, is final: nothing to flag. The first number is flagged by the refusal.
    (flag,) = query(db_url, "SELECT bad_report FROM block_numbers WHERE number = %s", number(1))
    assert "disk on fire" in flag[0]
    assert worker.refused == 1 and worker.handled == 2
