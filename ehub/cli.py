"""``ehub``: one command for the demo, the gateway, the simulator, schema export and benchmarks."""

from __future__ import annotations

import argparse
import asyncio
import csv
import functools
import getpass
import importlib
import json
import logging
import os
import ssl
import sys
from collections.abc import Callable
from pathlib import Path

from gateway.settings import MqttEndpoint


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def cmd_gateway(args: argparse.Namespace) -> int:
    from gateway.service import Gateway
    from gateway.settings import GatewaySettings

    overrides = {
        k: v
        for k, v in {
            "mqtt_url": args.broker,
            "database_url": args.database,
            "gateway_client_id": args.client_id,
            "gateway_share_group": args.share_group,
            "gateway_metrics_port": args.metrics_port,
        }.items()
        if v is not None
    }
    if args.processes is not None:
        overrides["gateway_processes"] = args.processes
    settings = GatewaySettings(**overrides)
    if settings.gateway_processes > 1:
        from gateway.supervisor import supervise

        return supervise(settings)
    gw = Gateway(settings)
    gw.install_signal_handlers()
    gw.run()
    return 0


def cmd_hub_worker(args: argparse.Namespace) -> int:
    import signal

    from hub.settings import HubSettings
    from hub.worker import HubWorker

    overrides = {
        k: v
        for k, v in {
            "mqtt_url": args.broker,
            "database_url": args.database,
            "hub_worker_client_id": args.client_id,
            "hub_worker_share_group": args.share_group,
            "hub_worker_metrics_port": args.metrics_port,
        }.items()
        if v is not None
    }
    worker = HubWorker(HubSettings(**overrides))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_a: worker.request_stop())
    worker.run()
    return 0


def cmd_hub(args: argparse.Namespace) -> int:
    import uvicorn

    from hub.api.app import create_app
    from hub.settings import HubSettings

    overrides = {k: v for k, v in {"database_url": args.database}.items() if v is not None}
    settings = HubSettings(**overrides)
    app = create_app(settings, background=True)
    uvicorn.run(
        app,
        host=args.host or settings.hub_host,
        port=args.port or settings.hub_port,
        log_level="info",
        proxy_headers=True,
    )
    return 0


def cmd_admin(args: argparse.Namespace) -> int:
    from ehub import admin

    db = args.database or os.environ.get("EHUB_DATABASE_URL")
    if not db:
        raise SystemExit("--database or EHUB_DATABASE_URL is needed")
    who = admin.actor(args.actor)
    if args.admin_command == "create-unit":
        admin.create_unit(
            db,
            who,
            unit_id=args.id,
            parent=args.parent,
            level=args.level,
            name=args.name,
            name_en=args.name_en,
            establishment=args.establishment,
        )
        print(f"created org unit {args.id}")
        return 0
    if args.admin_command == "create-user":
        password = os.environ.get("EHUB_NEW_PASSWORD") or getpass.getpass("password: ")
        admin.create_user(
            db,
            who,
            username=args.username,
            role=args.role,
            unit=args.unit,
            staff_id=args.staff_id,
            password=password,
        )
        print(f"created user {args.username} ({args.role} of {args.unit})")
        return 0
    if args.admin_command in ("broker-credentials", "jt808-enrol"):
        return _admin_broker(args, db, who)
    return admin.import_devices(db, who, Path(args.csv), skip_invalid=args.skip_invalid)


def _admin_broker(args: argparse.Namespace, db: str, who: str) -> int:
    from ehub import broker_admin

    if args.admin_command == "jt808-enrol":
        return broker_admin.jt808(db, who, args.device, None if args.remove else args.phone)
    broker = args.broker or os.environ.get("EHUB_MQTT_URL")
    if not broker:
        raise SystemExit("--broker or EHUB_MQTT_URL (the hub's broker account) is needed")
    return broker_admin.credentials(
        db, broker, who, device_ids=args.device or [], unit=args.unit, out=Path(args.out)
    )


def cmd_broker_init(args: argparse.Namespace) -> int:
    """A production broker's first dynamic-security file and the service passwords."""
    from hub.broker.bootstrap import init

    made = init(Path(args.dynsec_file), Path(args.secrets))
    if not made:
        print(f"{args.dynsec_file} exists: left as it is (it holds every device's account)")
        return 0
    print(f"wrote {args.dynsec_file}; passwords for {', '.join(made)} in {args.secrets}/<name>")
    return 0


def cmd_jt808_bridge(args: argparse.Namespace) -> int:
    from gateway.jt808_bridge import serve
    from gateway.settings import Jt808BridgeSettings
    from schemas.db import migrate

    overrides = {
        k: v
        for k, v in {
            "mqtt_url": args.broker,
            "database_url": args.database,
            "jt808_host": args.host,
            "jt808_port": args.port,
            "jt808_metrics_port": args.metrics_port,
        }.items()
        if v is not None
    }
    settings = Jt808BridgeSettings(**overrides)
    migrate(settings.database_url)
    ep = MqttEndpoint.parse(settings.mqtt_url)
    asyncio.run(
        serve(
            settings.database_url,
            ep,
            settings.jt808_host,
            settings.jt808_port,
            metrics_port=settings.jt808_metrics_port,
            metrics_addr=settings.jt808_metrics_addr,
        )
    )
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ehub-sim-") as scratch:
        return _simulate(args, Path(args.workdir) if args.workdir else Path(scratch))


def _simulate(args: argparse.Namespace, workdir: Path) -> int:
    from device_drivers.simulator.fleet import build_fleet
    from device_drivers.simulator.runner import FleetRunner

    fleet = build_fleet(args.devices, prefix=args.prefix, seed=args.seed, workdir=workdir)
    if args.register:
        from ehub.registry import register_fleet
        from schemas.db import migrate

        migrate(args.register)
        new = register_fleet(args.register, fleet)
        logging.info("registered %d new devices", new)
        if args.jt808:
            from ehub.registry import register_jt808

            logging.info(
                "%d trackers listed as JT/T 808 terminals", register_jt808(args.register, fleet)
            )
        if args.register_only:  # compose's demo: issue their broker accounts, then simulate
            print(f"simulate: registered {new} new devices of {len(fleet)}")
            return 0
    ep = MqttEndpoint.parse(args.broker)
    device_passwords: dict[str, str] = {}
    if args.credentials:
        # The CSV `ehub admin broker-credentials` wrote (device_id,username,password,client_id).
        with open(args.credentials, newline="") as f:
            device_passwords = {r["username"]: r["password"] for r in csv.DictReader(f)}
    runner = FleetRunner(
        fleet,
        ep.host,
        ep.port,
        args.rate,
        username=ep.username,
        password=ep.password,
        device_passwords=device_passwords,
        tls_context=ssl.create_default_context(cafile=ep.ca_file) if ep.tls else None,
        jt808=_host_port(args.jt808) if args.jt808 else None,
    )
    report = asyncio.run(runner.run(args.duration, drain_timeout=args.drain_timeout))
    doc = report.as_json()
    if args.report:
        Path(args.report).write_text(json.dumps(doc, indent=1))
    print(
        f"simulate: devices={report.devices} published={report.published} "
        f"acked={report.acked} pending={report.pending} resent={report.resent} "
        f"reconnects={report.reconnects}"
    )
    return 0 if report.pending == 0 else 3


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def cmd_doctor(args: argparse.Namespace) -> int:
    from ehub import doctor

    return doctor.main(
        args.database or os.environ.get("EHUB_DATABASE_URL"),
        args.broker or os.environ.get("EHUB_MQTT_URL"),
        disks=[Path(d) for d in args.disk or []],
        probes=args.probe or [],
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from ehub.demo import run_demo

    return run_demo(args.devices, args.duration, args.rate, args.state_dir)


def cmd_schemas(args: argparse.Namespace) -> int:
    from schemas.export import export

    written = export(Path(args.out))
    print(f"wrote {len(written)} files to {args.out}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from schemas.db import migrate

    features = migrate(args.database)
    print(f"migrated; timescaledb={features.timescaledb_version} license={features.license}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from ehub.bench_ingest import main as bench_main

    return bench_main(args)


def cmd_bench_jt808(args: argparse.Namespace) -> int:
    from ehub.bench_jt808 import main as bench_main

    return bench_main(args)


def cmd_bench_hub(args: argparse.Namespace) -> int:
    from ehub.bench_hub import main as bench_main

    return bench_main(args)


def cmd_cases_verify(args: argparse.Namespace) -> int:
    import base64

    from hub.settings import HubSettings
    from hub.transparency.service import signer_from_settings
    from hub.transparency.verify import verify_database

    overrides = {k: v for k, v in {"database_url": args.database}.items() if v is not None}
    settings = HubSettings(**overrides)
    name = args.origin or settings.hub_log_origin
    if args.public_key:
        public_key: bytes | None = base64.b64decode(args.public_key)
    else:
        signer = signer_from_settings(settings)
        public_key = signer.public_key if signer else None
    report = asyncio.run(
        verify_database(
            settings.database_url, name=name, public_key=public_key, mmd_s=settings.hub_log_mmd_s
        )
    )
    for problem in report.problems:
        print(f"PROBLEM {problem}")
    print(report.summary())
    return 0 if report.ok else 1


def cmd_cases_checkpoint(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    import psycopg

    from hub.settings import HubSettings
    from hub.transparency.service import issue_checkpoint, signer_from_settings

    overrides = {k: v for k, v in {"database_url": args.database}.items() if v is not None}
    settings = HubSettings(**overrides)
    signer = signer_from_settings(settings)
    if signer is None:
        raise SystemExit("EHUB_HUB_LOG_SIGNING_KEY or EHUB_HUB_LOG_SIGNING_KEY_FILE is needed")

    async def go() -> str:
        async with await psycopg.AsyncConnection.connect(
            settings.database_url, autocommit=True
        ) as conn:
            cp = await issue_checkpoint(conn, signer, datetime.now(UTC), force=args.force)
        return cp.note if cp else "the tree has not grown since the last checkpoint\n"

    print(asyncio.run(go()), end="")
    return 0


# Benchmarks whose module provides ``add_arguments(parser)`` and ``main(args) -> int``.
MORE_BENCHES = {
    "livemap": ("ehub.bench_livemap", "live map fan-out: browsers' streams at 2,000 updates/s"),
    "tracks": ("ehub.bench_tracks", "one vehicle's 24 h track: service and API, with baselines"),
    "dispatch": ("ehub.bench_dispatch", "nearest available unit among 10,000 moving units"),
    "cases": (
        "ehub.bench_cases",
        "cases: list/detail at 1M cases, on-the-spot tap to printed, log appends/proofs/verify",
    ),
    "poison": ("ehub.bench_poison", "a batch with rows the database refuses: bisect vs one by one"),
}


def cmd_bench_module(module: str, args: argparse.Namespace) -> int:
    main: Callable[[argparse.Namespace], int] = importlib.import_module(module).main
    return main(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ehub", description=__doc__)
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("gateway", help="MQTT -> TimescaleDB ingest (settings from EHUB_*)")
    g.add_argument("--broker", help="mqtt://host:port (EHUB_MQTT_URL)")
    g.add_argument("--database", help="postgresql://... (EHUB_DATABASE_URL)")
    g.add_argument("--client-id", help="MQTT client id; unique per replica")
    g.add_argument("--share-group", help="MQTT 5 shared-subscription group for replicas")
    g.add_argument("--metrics-port", type=int, help="serve Prometheus /metrics on this port")
    g.add_argument(
        "--processes",
        type=int,
        help="gateway processes sharing one subscription (EHUB_GATEWAY_PROCESSES)",
    )
    g.set_defaults(func=cmd_gateway)

    hub = sub.add_parser("hub", help="the hub's web API (settings from EHUB_*)")
    hub.add_argument("--database", help="postgresql://... (EHUB_DATABASE_URL)")
    hub.add_argument("--host", help="listen address (EHUB_HUB_HOST)")
    hub.add_argument("--port", type=int, help="listen port (EHUB_HUB_PORT)")
    hub.set_defaults(func=cmd_hub)

    ad = sub.add_parser("admin", help="org units, accounts, device import (direct to the DB)")
    ad.add_argument("--database", help="postgresql://... (EHUB_DATABASE_URL)")
    ad.add_argument("--actor", help="name recorded in the audit log (default: your login)")
    ads = ad.add_subparsers(dest="admin_command", required=True)
    cu = ads.add_parser("create-unit", help="add an org unit (city, district or street team)")
    cu.add_argument("--id", required=True)
    cu.add_argument("--parent")
    cu.add_argument("--level", required=True, choices=["city", "district", "street"])
    cu.add_argument("--name", required=True)
    cu.add_argument("--name-en")
    cu.add_argument("--establishment", type=int, default=0, help="authorised headcount (编制)")
    cs = ads.add_parser(
        "create-user", help="add an account (password from EHUB_NEW_PASSWORD or a prompt)"
    )
    cs.add_argument("--username", required=True)
    cs.add_argument("--role", required=True)
    cs.add_argument("--unit", required=True, help="org unit: the account sees it and below")
    cs.add_argument("--staff-id")
    im = ads.add_parser(
        "import-devices",
        help="import devices from CSV (one problem per line "
        "reported; nothing imported while any remain unless --skip-invalid)",
    )
    im.add_argument("csv")
    im.add_argument("--skip-invalid", action="store_true")
    bc = ads.add_parser(
        "broker-credentials",
        help="issue (or rotate) devices' broker passwords into a CSV, shown nowhere else",
    )
    bc.add_argument(
        "--broker", help="the hub's account: mqtt[s]://ehub-hub:...@host (EHUB_MQTT_URL)"
    )
    bc.add_argument("--device", action="append", help="a device id (repeat); default: all active")
    bc.add_argument("--unit", help="only the devices of this org unit")
    bc.add_argument("--out", required=True, help="CSV to write (mode 0600)")
    je = ads.add_parser("jt808-enrol", help="enrol a vehicle tracker's JT/T 808 phone number")
    je.add_argument("--device", required=True)
    grp = je.add_mutually_exclusive_group(required=True)
    grp.add_argument("--phone", help="12 (or 20) digits, as the terminal sends it")
    grp.add_argument("--remove", action="store_true", help="remove the enrolment")
    ad.set_defaults(func=cmd_admin)

    hw = sub.add_parser(
        "hub-worker", help="hub side of device events: pairings, print jobs, evidence register"
    )
    hw.add_argument("--broker", help="mqtt://host:port (EHUB_MQTT_URL)")
    hw.add_argument("--database", help="postgresql://... (EHUB_DATABASE_URL)")
    hw.add_argument("--client-id", help="MQTT client id; unique per replica")
    hw.add_argument("--share-group", help="MQTT 5 shared-subscription group for replicas")
    hw.add_argument("--metrics-port", type=int, help="serve /metrics, /livez, /readyz on this port")
    hw.set_defaults(func=cmd_hub_worker)

    bk = sub.add_parser("broker", help="the MQTT broker's accounts (dynamic security)")
    bks = bk.add_subparsers(dest="broker_command", required=True)
    bi_ = bks.add_parser(
        "init", help="write the broker's first dynamic-security file and service passwords"
    )
    bi_.add_argument("--dynsec-file", required=True, help="plugin_opt_config_file of mosquitto")
    bi_.add_argument("--secrets", required=True, help="folder for one password file per account")
    bi_.set_defaults(func=cmd_broker_init)

    j = sub.add_parser("jt808-bridge", help="JT/T 808 trackers over TCP -> v1 MQTT messages")
    j.add_argument("--port", type=int, help="TCP port for trackers (EHUB_JT808_PORT, 7808)")
    j.add_argument("--host", help="listen address (EHUB_JT808_HOST, 0.0.0.0)")
    j.add_argument(
        "--broker",
        help="mqtt[s]://ehub-jt808-bridge:PASSWORD@host:port[?ca_file=..&password_file=..]"
        " (EHUB_MQTT_URL)",
    )
    j.add_argument("--database", help="registry of terminals, jt808_terminals (EHUB_DATABASE_URL)")
    j.add_argument(
        "--metrics-port",
        type=int,
        help="serve /metrics, /livez, /readyz on this port (EHUB_JT808_METRICS_PORT)",
    )
    j.set_defaults(func=cmd_jt808_bridge)

    s = sub.add_parser("simulate", help="run a simulated fleet against a broker")
    s.add_argument("--devices", type=int, default=40)
    s.add_argument("--rate", type=float, default=20.0, help="messages per second, whole fleet")
    s.add_argument(
        "--broker",
        default="mqtt://127.0.0.1:1883",
        help="mqtt[s]://[USER:PASSWORD@]host:port: the account for devices not in --credentials",
    )
    s.add_argument(
        "--credentials",
        metavar="CSV",
        help="per-device broker accounts (the CSV of `ehub admin broker-credentials`)",
    )
    s.add_argument("--duration", type=float, default=None, help="seconds; forever if omitted")
    s.add_argument(
        "--drain-timeout",
        type=float,
        default=30.0,
        help="after --duration, wait this long for every message to be acked",
    )
    s.add_argument("--prefix", default="", help="prefix for device ids (e.g. 'sim-')")
    s.add_argument("--seed", type=int, default=808)
    s.add_argument(
        "--register",
        metavar="DATABASE_URL",
        help="register the fleet's devices in this database first",
    )
    s.add_argument(
        "--register-only",
        action="store_true",
        help="with --register: register the fleet and exit (its broker accounts come next)",
    )
    s.add_argument(
        "--jt808",
        metavar="HOST:PORT",
        help="vehicle trackers speak JT/T 808 to this bridge instead of MQTT (with --register:"
        " also list them as JT/T 808 terminals)",
    )
    s.add_argument("--report", help="write a JSON report of what was published/acked")
    s.add_argument(
        "--workdir",
        help="where docks keep camera mounts and the evidence store (default: a temporary "
        "folder removed at exit)",
    )
    s.set_defaults(func=cmd_simulate)

    d = sub.add_parser("demo", help="embedded PostgreSQL + broker + gateway + simulated fleet")
    d.add_argument("--devices", type=int, default=60)
    d.add_argument("--duration", type=float, default=None, help="stop after S seconds")
    d.add_argument(
        "--rate", type=float, default=None, help="fleet messages per second (default: 2 per device)"
    )
    d.add_argument("--state-dir", default=None, help="where the embedded database lives")
    d.set_defaults(func=cmd_demo)

    dr = sub.add_parser(
        "doctor",
        help="check a deployment (database, migrations, TimescaleDB, clock, disk, broker and its"
        " ACLs, readiness probes) and say what is wrong; exit 1 on any problem",
    )
    dr.add_argument("--database", help="postgresql://... (EHUB_DATABASE_URL)")
    dr.add_argument(
        "--broker", help="the hub's account: mqtt[s]://ehub-hub:...@host (EHUB_MQTT_URL)"
    )
    dr.add_argument("--disk", action="append", help="a path whose filesystem to check (repeat)")
    dr.add_argument(
        "--probe", action="append", help="a process's /readyz URL that must answer 200 (repeat)"
    )
    dr.set_defaults(func=cmd_doctor)

    sc = sub.add_parser("schemas", help="machine-readable MQTT contract")
    scs = sc.add_subparsers(dest="schemas_command", required=True)
    ex = scs.add_parser("export", help="write JSON Schemas and the AsyncAPI document")
    ex.add_argument("--out", default="docs/contract")
    ex.set_defaults(func=cmd_schemas)

    m = sub.add_parser("migrate", help="apply the SQL migrations")
    m.add_argument("--database", required=True)
    m.set_defaults(func=cmd_migrate)

    ca = sub.add_parser(
        "cases", help="enforcement cases: catalog, discretion, calendar, the transparency log"
    )
    cas = ca.add_subparsers(dest="cases_command", required=True)
    from ehub import cases_cli

    cases_cli.add_commands(cas)
    cv = cas.add_parser(
        "verify",
        help="recompute the transparency log from its leaves, check every stored hash and"
        " every checkpoint ever issued (exit 1 on any problem)",
    )
    cv.add_argument("--database", help="postgresql://... (EHUB_DATABASE_URL)")
    cv.add_argument("--origin", help="the log's origin / key name (EHUB_HUB_LOG_ORIGIN)")
    cv.add_argument(
        "--public-key",
        help="the log's Ed25519 public key, base64 (default: from EHUB_HUB_LOG_SIGNING_KEY)",
    )
    cv.set_defaults(func=cmd_cases_verify)
    cc = cas.add_parser(
        "checkpoint",
        help="sign and store a checkpoint of the transparency log now (if it grew, or --force)",
    )
    cc.add_argument("--database", help="postgresql://... (EHUB_DATABASE_URL)")
    cc.add_argument("--force", action="store_true", help="even if the tree has not grown")
    cc.set_defaults(func=cmd_cases_checkpoint)

    b = sub.add_parser("bench", help="benchmarks that print their figures")
    bs = b.add_subparsers(dest="bench_command", required=True)
    bi = bs.add_parser("ingest", help="broker/client/database ceilings vs gateway end to end")
    from ehub.bench_ingest import add_arguments

    add_arguments(bi)
    bi.set_defaults(func=cmd_bench)
    bj = bs.add_parser("jt808", help="JT/T 808 frames decoded and published per second")
    from ehub.bench_jt808 import add_arguments as add_jt808_arguments

    add_jt808_arguments(bj)
    bj.set_defaults(func=cmd_bench_jt808)
    bh = bs.add_parser("hub", help="latest state of 50k devices, team usage, hub vs bare")
    from ehub.bench_hub import add_arguments as add_hub_arguments

    add_hub_arguments(bh)
    bh.set_defaults(func=cmd_bench_hub)
    for name, (module, help_text) in MORE_BENCHES.items():
        parser = bs.add_parser(name, help=help_text)
        importlib.import_module(module).add_arguments(parser)
        parser.set_defaults(func=functools.partial(cmd_bench_module, module))
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
