"""Terminals and printers end to end: simulated terminal agents over real Mosquitto, the
gateway into TimescaleDB and the hub worker beside it. Terminals pair their printers through
the hub, print notices on (in-memory) BLE printers, and carry out a print order the hub sends.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import UTC, datetime

import psycopg
import pytest

from device_drivers.simulator.fleet import SimDevice, SimTerminal, build_fleet
from device_drivers.simulator.runner import FleetRunner
from ehub.registry import register_fleet
from ehub.services import drop_session
from gateway.settings import MqttEndpoint
from hub.services.commands import issue
from schemas.messages import PrintArgs
from schemas.topics import DeviceType
from tests.helpers import clear_retained, query, wait_until

pytestmark = pytest.mark.integration


def test_terminals_pair_print_and_carry_out_a_hub_print_order(
    db_url, mqtt_url, start_gateway, start_hub_worker, publisher, provision_devices
):
    prefix = f"e{uuid.uuid4().hex[:4]}-"
    everyone = build_fleet(20, prefix=prefix)
    terminals = [d for d in everyone if isinstance(d, SimTerminal) and d.printer_label]
    printers = [
        d for d in everyone if isinstance(d, SimDevice) and d.device_type is DeviceType.BT_PRINTER
    ]
    assert len(terminals) == len(printers) == 3
    for t in terminals:
        t.print_chance = 0.3
    fleet = [*terminals, *printers]
    register_fleet(db_url, fleet)
    start_gateway(db_url)
    start_hub_worker(db_url)

    ep = MqttEndpoint.parse(mqtt_url)
    # Every simulated device under its own broker account and ACL, as a real one would be: the
    # whole protocol (status, events, state and Will, ack, cmd, cmd_result) must fit the ACLs.
    passwords = provision_devices([(d.device_type.value, d.device_id) for d in fleet])
    runner = FleetRunner(
        fleet,
        ep.host,
        ep.port,
        rate=len(fleet) * 4.0,
        resend_after=3.0,
        device_passwords=passwords,
    )
    result: dict[str, object] = {}
    stop = threading.Event()

    def run() -> None:
        async def main() -> None:
            task = asyncio.create_task(runner.run(None))
            while not stop.is_set():
                await asyncio.sleep(0.1)
            runner.finish()
            result["report"] = await task

        asyncio.run(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        # Each terminal scans its printer; the hub records the pairing and says yes.
        wait_until(
            lambda: (
                query(db_url, "SELECT count(*) FROM printer_pairings WHERE unpaired_at IS NULL")[0][
                    0
                ]
                == 3
            ),
            timeout=30,
        )
        pairs = set(query(db_url, "SELECT printer_id, terminal_id FROM printer_pairings"))
        assert pairs == {(t.printer_label, t.device_id) for t in terminals}
        # The hub records the pairing before its answer reaches the terminal: wait for the
        # terminals to have it, or the order below could arrive first and be refused.
        wait_until(lambda: all(t.paired_printer == t.printer_label for t in terminals))

        # The hub orders a notice printed on the first terminal's printer.
        target = terminals[0]
        args = PrintArgs(
            job_id=f"{prefix}order-1",
            doc_type="rectification_notice",
            title="责令改正通知书",
            case_number="深福执改〔2026〕第0001号",
            officer_name="王芳",
            officer_badge="44030099",
            street="福田区华强北路1002号",
            issued_at=datetime.now(UTC),
            legal_basis="《深圳经济特区市容和环境卫生管理条例》",
            body="经查，你（单位）占道经营。请立即改正。",
            case_url="https://ehub.example.cn/cases/0001",
            team_name="华强北街道综合行政执法队",
            copies=2,
        )
        with psycopg.connect(db_url) as conn:
            out = issue(conn, DeviceType.MOBILE_TERMINAL, target.device_id, args)
        publisher.publish(
            f"ehub/v1/mobile_terminal/{target.device_id}/cmd", out.command.model_dump_json()
        )
        status = wait_until(
            lambda: query(
                db_url,
                "SELECT status, detail FROM device_commands"
                " WHERE cmd_id = %s AND status IN ('done', 'failed', 'rejected')",
                out.command.cmd_id,
            ),
            timeout=30,
        )
        assert status == [("done", "2 page(s) printed")]
        job = wait_until(
            lambda: query(
                db_url,
                "SELECT status, printer_id, officer_id, pages,"
                " pages_printed, case_number FROM print_jobs"
                " WHERE job_id = %s AND status = 'printed'",
                args.job_id,
            )
        )
        assert job == [
            ("printed", target.printer_label, target.officer_id, 2, 2, "深福执改〔2026〕第0001号")
        ]
        # Notices the officers printed on their own went through the same lifecycle.
        wait_until(
            lambda: (
                query(
                    db_url,
                    "SELECT count(DISTINCT terminal_id) FROM print_jobs"
                    " WHERE status = 'printed' AND cmd_id IS NULL",
                )[0][0]
                == 3
            ),
            timeout=30,
        )
    finally:
        stop.set()
        thread.join(60)
        for d in fleet:
            drop_session(mqtt_url, d.device_id)
        clear_retained(
            mqtt_url, [f"ehub/v1/{d.device_type.value}/{d.device_id}/state" for d in fleet]
        )
    assert not thread.is_alive()
    assert result["report"].pending == 0  # type: ignore[attr-defined]
    # Every event the terminals sent is stored once, lifecycle included.
    events = dict(query(db_url, "SELECT event, count(*) FROM device_events GROUP BY event"))
    assert events["printer_paired"] >= 3 and events["print_done"] >= 4
    assert events["cmd_result"] >= 5  # 3 pairing answers + accepted and done for the order
    assert query(db_url, "SELECT topic, reason, detail FROM dead_letters") == []
