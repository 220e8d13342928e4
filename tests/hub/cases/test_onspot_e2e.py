"""An on-the-spot decision end to end, against the real Mosquitto and TimescaleDB: a supervisor
allocates a block to a terminal through the API, the terminal (the simulator's agent, under its
own broker account) receives it, the officer makes a decision, the simulated BLE printer prints
it at a 20-byte MTU, the terminal reports it, the hub worker files it and the case exists in
``on_spot_filed`` with the document stored and logged. A number voided on the terminal and one
returned by the supervisor are accounted for; a malformed report is dead-lettered by the
gateway and its number stays accounted for until the supervisor voids it."""

from __future__ import annotations

import asyncio
import json
import random
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from device_drivers.bt_printer.driver import DriverSettings, PrinterDriver
from device_drivers.bt_printer.fake import FakePrinter, FakeTransport
from device_drivers.mobile_terminal.agent import TerminalAgent
from device_drivers.simulator.geo import STREETS, Route
from device_drivers.simulator.onspot import make_on_spot_decision
from device_drivers.simulator.runner import FleetRunner, printer_mac
from ehub.services import drop_session
from gateway.settings import MqttEndpoint
from hub.api.app import create_app
from hub.settings import HubSettings
from schemas.documents.common import Officer
from tests.factories.hub import bearer, seed_city
from tests.helpers import clear_retained, query, wait_until
from tests.hub.cases.casefix import seed_cases

pytestmark = pytest.mark.integration
TERM, PRN = "os-term-1", "os-prn-1"
# Two certified officers of team A (seed_city + casefix: certificates valid until 2030).
OFFICERS = [
    Officer(name="李明", certificate_no="B0001"),
    Officer(name="赵强", certificate_no="B0003"),
]


def test_an_on_the_spot_decision_from_block_to_filed_case(
    db_url, mqtt_url, service_mqtt_url, start_gateway, start_hub_worker, publisher,
    provision_devices,
):  # fmt: skip
    settings = HubSettings(
        database_url=db_url,
        mqtt_url=service_mqtt_url("ehub-hub"),
        hub_jwt_secret="s" * 40,
        hub_id_hash_key="k" * 40,
    )
    client = TestClient(create_app(settings)).__enter__()
    seed_city(db_url)
    seed_cases(db_url)
    with psycopg.connect(db_url) as conn:
        conn.cursor().executemany(
            "INSERT INTO devices (device_id, device_type, org_unit_id) VALUES (%s, %s, 'team-a')",
            [(TERM, "mobile_terminal"), (PRN, "bt_printer")],
        )
        conn.execute(
            "INSERT INTO custody (device_id, staff_id, checked_out_at, out_by)"
            " VALUES (%s, 'sa1', now() - interval '1 hour', 'test')",
            (TERM,),
        )
    start_gateway(db_url)
    start_hub_worker(db_url)

    now = datetime.now(UTC)
    _, _, pts = STREETS[1]
    terminal = TerminalAgent(
        device_id=TERM, officer_id="sa1", route=Route(list(pts)), rng=random.Random(3),
        shift_start=now - timedelta(minutes=5), shift_end=now + timedelta(hours=4),
        verify_base="https://enforce.example.com",
    )  # fmt: skip
    terminal.paired_printer = PRN  # paired for the shift (pairing has its own e2e test)
    passwords = provision_devices([("mobile_terminal", TERM)])
    ep = MqttEndpoint.parse(mqtt_url)
    runner = FleetRunner(
        [terminal], ep.host, ep.port, rate=2.0, resend_after=3.0, device_passwords=passwords
    )
    paper = FakePrinter(printer_mac(PRN), max_write=20)  # the simulated BLE link, 20-byte MTU
    runner._printers[PRN] = PrinterDriver(
        FakeTransport(paper), DriverSettings(address=paper.address, chunk_interval_s=0)
    )
    state: dict[str, Any] = {}
    stop = threading.Event()

    def run() -> None:
        async def main() -> None:
            state["loop"] = asyncio.get_running_loop()
            task = asyncio.create_task(runner.run(None))
            while not stop.is_set():
                await asyncio.sleep(0.05)
            runner.finish()
            state["report"] = await task

        asyncio.run(main())

    def on_terminal(fn: Any) -> Any:
        """Run ``fn`` on the runner's loop (the agent is not thread-safe)."""

        async def call() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), state["loop"]).result(10)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: "loop" in state and runner.runs[TERM].connected, timeout=20)
        # 1. The supervisor allocates a block; the terminal receives it and answers done.
        sup = bearer(client, "a-supervisor")
        r = client.post(
            f"/api/v1/devices/{TERM}/number-blocks",
            json={
                "legal_subject": "futian",
                "size": 4,
                "team_name": "华强北街道综合行政执法队",
                "remedies": {
                    "review_body": "深圳市福田区人民政府",
                    "court": "深圳市福田区人民法院",
                },
                "payment": {"bank": "中国工商银行深圳福田支行"},
            },
            headers=sup,
        )
        assert r.status_code == 201, r.text
        numbers = [n["number"] for n in r.json()["numbers"]]
        wait_until(lambda: len(terminal.wallet.free()) == 4, timeout=20)
        wait_until(
            lambda: query(
                db_url,
                "SELECT 1 FROM device_commands WHERE cmd_id = %s AND status = 'done'",
                r.json()["cmd_id"],
            ),
            timeout=20,
        )

        # 2. The officer's tap: filled, checked, printed at 20 bytes a write, reported.
        first = on_terminal(lambda: make_on_spot_decision(terminal, datetime.now(UTC),
                                                          officers=OFFICERS))  # fmt: skip
        assert first == numbers[0]
        row = wait_until(
            lambda: query(
                db_url,
                "SELECT state, case_id FROM block_numbers WHERE number = %s AND state = 'printed'",
                first,
            ),
            timeout=30,
        )
        case_id = row[0][1]
        assert max(paper.writes) <= 20 and first.encode("gb18030") in bytes(paper.paper)
        assert query(
            db_url, "SELECT state, number, procedure FROM cases WHERE id = %s", case_id
        ) == [("on_spot_filed", first, "simple")]
        doc = query(
            db_url,
            "SELECT doc_type, printed_at_scene, terminal_id, sha256, tlog_queue_id IS NOT NULL"
            " FROM case_documents WHERE case_id = %s AND number = %s",
            case_id,
            first,
        )
        reported = query(
            db_url,
            "SELECT payload->>'sha256' FROM device_events WHERE event = 'on_spot_decision'",
        )
        assert doc == [("on_spot_decision", True, TERM, reported[0][0], True)]
        job = query(
            db_url, "SELECT status, case_number FROM print_jobs WHERE terminal_id = %s", TERM
        )
        assert job == [("printed", first)]

        # 3. A spoiled form voided on the terminal; one number returned by the supervisor.
        on_terminal(lambda: terminal.void_number(numbers[1], "打印机卡纸，表单损坏"))
        wait_until(
            lambda: query(
                db_url, "SELECT 1 FROM block_numbers WHERE number = %s AND state = 'voided'",
                numbers[1],
            ),
            timeout=20,
        )  # fmt: skip
        r = client.post(
            f"/api/v1/devices/{TERM}/number-blocks/return",
            json={"numbers": [numbers[2]]},
            headers=sup,
        )
        assert r.status_code == 200 and r.json()[0]["state"] == "returned"

        # 4. A malformed report of the last number (its hash is not a hash): the gateway
        # dead-letters it with the reason; its number stays accounted for, flagged.
        bad = {"v": 1, "seq": 900, "ts": datetime.now(UTC).isoformat(),
               "event": "on_spot_decision", "number": numbers[3], "matter_code": "SZ-SR-001",
               "officer_id": "sa1", "document": {"number": numbers[3]}, "sha256": "zz",
               "print_result": {}}  # fmt: skip
        publisher.publish(f"ehub/v1/mobile_terminal/{TERM}/event", json.dumps(bad))
        dead = wait_until(
            lambda: query(
                db_url,
                "SELECT reason, detail FROM dead_letters WHERE device_id = %s AND seq = 900",
                TERM,
            ),
            timeout=20,
        )
        assert dead[0][0] == "schema" and "sha256" in dead[0][1]
        flagged = wait_until(
            lambda: query(
                db_url,
                "SELECT state, bad_report FROM block_numbers"
                " WHERE number = %s AND bad_report IS NOT NULL",
                numbers[3],
            ),
            timeout=20,
        )
        assert flagged[0][0] == "allocated" and "malformed report" in flagged[0][1]
        r = client.post(
            f"/api/v1/devices/{TERM}/number-blocks/void",
            json={"number": numbers[3], "reason": "终端上报格式错误，经核实作废"},
            headers=sup,
        )
        assert r.status_code == 200 and r.json()["state"] == "voided"

        # Every number ended printed, voided or returned: none disappeared.
        (block,) = client.get(f"/api/v1/devices/{TERM}/number-blocks", headers=sup).json()
        assert block["counts"] == {"allocated": 0, "printed": 1, "voided": 2, "returned": 1}
        assert block["delivery"] == "done"
        # The two voids are in the transparency log as number_voided, with hashed reasons.
        entries = [
            json.loads(bytes(e[0]))
            for e in query(db_url, "SELECT entry FROM tlog_queue")
            + query(db_url, "SELECT entry FROM tlog_leaves")
        ]
        voided = sorted(e["number"] for e in entries if e["kind"] == "number_voided")
        assert voided == sorted([numbers[1], numbers[3]])
        assert any(e["kind"] == "document_issued" for e in entries)
    finally:
        stop.set()
        thread.join(60)
        client.__exit__(None, None, None)
        drop_session(mqtt_url, TERM)
        clear_retained(mqtt_url, [f"ehub/v1/mobile_terminal/{TERM}/state"])
    assert not thread.is_alive()
    assert state["report"].pending == 0
