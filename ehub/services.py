"""Real services for development, tests and benchmarks: Mosquitto and TimescaleDB on loopback.

``python -m ehub.services up`` installs what is missing (Debian's ``mosquitto`` and
``mosquitto-clients``; a Debian 13 root with ``postgresql-17-timescaledb`` made with debootstrap
and cached under ``/var/cache/ehub``), starts both on free 127.0.0.1 ports, and writes their
URLs to ``.services/state.json`` and ``.services/env``. ``down`` stops them and deletes their
data. Tests load the same state to kill and restart the broker or stop the database.

The broker runs Mosquitto's dynamic-security plugin with anonymous access off, one account per
service (``schemas.broker.SERVICE_ROLES``) and the harness's own ``ehub-test`` account; their
random passwords are in ``state.json`` (mode 0600) and ``env``, and ``env`` prints them. A
second listener speaks TLS with a server certificate signed by a CA made here (``ca.pem``).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ehub.pgcluster import ClusterError, PgCluster, free_port, wait_for_port
from hub.broker import dynsec
from hub.broker.commands import account_commands
from schemas.broker import SERVICE_ROLES, TEST_ROLES, MqttEndpoint

PG_BINDIR = "/usr/lib/postgresql/17/bin"
TSDB_PACKAGES = "postgresql-17,postgresql-17-timescaledb"
DEFAULT_STATE_DIR = Path(__file__).resolve().parent.parent / ".services"


def _log(msg: str) -> None:
    print(f"[services] {msg}", file=sys.stderr, flush=True)


def _cache_dir() -> Path:
    return Path(os.environ.get("EHUB_CACHE_DIR", "/var/cache/ehub"))


def _apt_install(*packages: str) -> None:
    _log(f"apt-get install {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        check=True,
        env=env,
    )


def ensure_mosquitto() -> None:
    """Install Debian's Mosquitto broker and clients if they are not on this machine."""
    missing = [
        pkg
        for pkg, exe in (("mosquitto", "mosquitto"), ("mosquitto-clients", "mosquitto_pub"))
        if not shutil.which(exe) and not Path(f"/usr/sbin/{exe}").exists()
    ]
    if missing:
        _apt_install(*missing)


PROMETHEUS = "/usr/bin/prometheus"


def ensure_prometheus() -> str:
    """Install Debian's Prometheus (server and promtool) if missing; returns the server's path.
    Only the tests that need a real Prometheus call this (tests/test_compose_processes.py)."""
    if not Path(PROMETHEUS).exists() or not shutil.which("promtool"):
        _apt_install("prometheus")
    return PROMETHEUS


def start_prometheus(config: Path, data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """A throwaway Prometheus on 127.0.0.1:``port`` (its log in ``data_dir``/prometheus.log);
    the caller stops it (``terminate()``) and removes ``data_dir``."""
    exe = ensure_prometheus()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = open(data_dir / "prometheus.log", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [
            exe,
            f"--config.file={config}",
            f"--storage.tsdb.path={data_dir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for_port("127.0.0.1", port, 30)
    return proc


def _debian_mirror() -> str:
    """The Debian mirror this machine's apt already uses (never hard-coded here)."""
    texts = []
    for path in [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]:
        with contextlib.suppress(OSError):
            texts.append(path.read_text())
    for text in texts:
        for m in re.finditer(r"(?:URIs:|deb)\s+(\S+/debian)/?\s", text):
            if "security" not in m.group(1):
                return m.group(1)
    raise ClusterError("no Debian mirror found in /etc/apt/sources.list*")


def ensure_tsdb_root() -> Path:
    """A Debian 13 root holding PostgreSQL 17 + TimescaleDB, built once and cached."""
    root = Path(os.environ.get("EHUB_TSDB_ROOT", str(_cache_dir() / "tsdb-root")))
    marker = root / ".ehub-ready"
    if marker.exists():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / ".tsdb-root.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two concurrent `up`s must not both debootstrap
        if marker.exists():
            return root
        if not shutil.which("debootstrap"):
            _apt_install("debootstrap")
        tmp = root.with_name(root.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        mirror = _debian_mirror()
        _log(f"debootstrap trixie with {TSDB_PACKAGES} into {tmp} (once; about a minute)")
        t0 = time.monotonic()
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={TSDB_PACKAGES}",
                "trixie",
                str(tmp),
                mirror,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        # The package's own cluster is not used: we make throwaway ones per run.
        subprocess.run(
            ["chroot", str(tmp), "sh", "-c", "rm -rf /var/lib/postgresql/17/main"], check=False
        )
        shutil.rmtree(root, ignore_errors=True)
        tmp.rename(root)
        marker.write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
        _log(f"TimescaleDB root ready in {time.monotonic() - t0:.0f}s")
    return root


@dataclass
class Services:
    """The running services and how to control them (persisted as JSON between processes)."""

    state_dir: str
    mqtt_port: int
    pg_port: int
    tsdb_root: str
    pg_datadir: str
    mosquitto_pid: int = 0
    tls_port: int = 0
    # account -> password on this throwaway broker (ehub-admin, the services, ehub-test).
    passwords: dict[str, str] = field(default_factory=dict)

    @property
    def mqtt_url(self) -> str:
        """The test harness's account (``ehub-test``: any ``ehub/v1/#`` topic, no fixed client
        id) — it plays devices that got past the broker, drops sessions, clears retained state."""
        return self.mqtt_url_for("ehub-test")

    def mqtt_url_for(self, account: str, *, tls: bool = False) -> str:
        if tls:
            return (
                f"mqtts://{account}:{self.passwords[account]}@localhost:{self.tls_port}"
                f"?ca_file={self.ca_file}"
            )
        return f"mqtt://{account}:{self.passwords[account]}@127.0.0.1:{self.mqtt_port}"

    @property
    def anonymous_url(self) -> str:
        return f"mqtt://127.0.0.1:{self.mqtt_port}"

    @property
    def ca_file(self) -> str:
        return str(Path(self.state_dir) / "mosquitto" / "ca.pem")

    @property
    def database_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/postgres"

    @property
    def cluster(self) -> PgCluster:
        return PgCluster(
            bindir=PG_BINDIR,
            datadir=self.pg_datadir,
            port=self.pg_port,
            root=Path(self.tsdb_root),
            settings={
                "shared_preload_libraries": "timescaledb",
                "timescaledb.telemetry_level": "off",
                "max_connections": "200",
                "shared_buffers": "512MB",
                "synchronous_commit": "on",
                "fsync": "on",
            },
        )

    # -- broker ---------------------------------------------------------------------------
    def mosquitto_conf(self) -> Path:
        state = Path(self.state_dir) / "mosquitto"
        state.mkdir(parents=True, exist_ok=True)
        conf = state / "mosquitto.conf"
        # Debian's defaults lose data (DESIGN.md): persist, save every second, and queue
        # far more than any test or benchmark publishes while a subscriber is away.
        dynsec_file = state / "dynamic-security.json"
        if not dynsec_file.exists():
            # The plugin's first file holds only its admin; everything else is added over the
            # control topic once the broker runs (setup_accounts), as in production.
            subprocess.run(
                [
                    "mosquitto_ctrl",
                    "dynsec",
                    "init",
                    str(dynsec_file),
                    "ehub-admin",
                    self.passwords["ehub-admin"],
                ],
                check=True,
                capture_output=True,
            )
        if self.tls_port and not (state / "server.pem").exists():
            make_test_ca(state)
        tls = (
            f"""listener {self.tls_port} 127.0.0.1
cafile {state}/ca.pem
certfile {state}/server.pem
keyfile {state}/server.key
"""
            if self.tls_port
            else ""
        )
        conf.write_text(
            f"""per_listener_settings false
listener {self.mqtt_port} 127.0.0.1
{tls}allow_anonymous false
plugin /usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so
plugin_opt_config_file {dynsec_file}
persistence true
persistence_location {state}/
autosave_interval 1
max_queued_messages 2000000
max_queued_bytes 0
max_inflight_messages 1000
max_packet_size 1048576
log_dest file {state}/mosquitto.log
log_type error
log_type warning
log_type notice
user root
"""
        )
        return conf

    def start_broker(self) -> None:
        conf = self.mosquitto_conf()
        proc = subprocess.Popen(
            ["mosquitto", "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.mosquitto_pid = proc.pid
        wait_for_port("127.0.0.1", self.mqtt_port, 15)
        self.save()

    def stop_broker(self, sig: int = signal.SIGTERM) -> None:
        """Stop the broker: SIGTERM saves its persistence file, SIGKILL does not."""
        if not self.mosquitto_pid:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.mosquitto_pid, sig)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.kill(self.mosquitto_pid, 0)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(self.mosquitto_pid, os.WNOHANG)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        self.mosquitto_pid = 0
        self.save()

    def setup_accounts(self) -> None:
        """Create the service accounts and the test account on a fresh broker (idempotent)."""
        roles = {**SERVICE_ROLES, **TEST_ROLES}
        dynsec.run(
            MqttEndpoint.parse(self.mqtt_url_for("ehub-admin")),
            account_commands(roles, {k: v for k, v in self.passwords.items() if k in roles}),
            tolerate_already=True,
        )

    # -- database -------------------------------------------------------------------------
    def start_db(self) -> None:
        cluster = self.cluster
        try:
            cluster.start()
        except ClusterError:
            _log(cluster.log_tail())
            raise

    def stop_db(self, mode: str = "fast") -> None:
        self.cluster.stop(mode=mode)

    # -- persistence of this object -------------------------------------------------------
    def save(self) -> None:
        d = Path(self.state_dir)
        d.mkdir(parents=True, exist_ok=True)
        # Passwords inside: readable by this user only.
        for name, text in (("state.json", json.dumps(asdict(self), indent=2)), ("env", self.env())):
            f = d / name
            f.touch(mode=0o600)
            f.chmod(0o600)
            f.write_text(text)

    def env(self) -> str:
        lines = [
            f"export EHUB_TEST_MQTT_URL='{self.mqtt_url}'",
            f"export EHUB_TEST_DATABASE_URL={self.database_url}",
        ]
        for account in self.passwords:
            if account == "ehub-test":
                continue  # EHUB_TEST_MQTT_URL above
            var = account.upper().replace("-", "_")
            lines.append(f"export {var}_MQTT_URL='{self.mqtt_url_for(account)}'")
        if self.tls_port:
            lines.append(f"export EHUB_TEST_MQTT_CA_FILE={self.ca_file}")
            lines.append(f"export EHUB_TEST_MQTTS_URL='{self.mqtt_url_for('ehub-test', tls=True)}'")
        return "\n".join(lines) + "\n"

    @classmethod
    def load(cls, state_dir: Path | None = None) -> Services | None:
        d = Path(state_dir or os.environ.get("EHUB_SERVICES_DIR") or DEFAULT_STATE_DIR)
        f = d / "state.json"
        if not f.exists():
            return None
        return cls(**json.loads(f.read_text()))


def drop_session(mqtt_url: str, client_id: str) -> None:
    """End a persistent MQTT session (connect with clean start, expiry 0, disconnect).

    Left behind, an offline session stays subscribed, the broker queues every later message
    for it and Mosquitto rewrites that queue at each autosave: tests and benchmarks that make
    sessions end them with this."""
    ep = MqttEndpoint.parse(mqtt_url)
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    ep.paho_setup(c)
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 0
    c.connect(ep.host, ep.port, clean_start=True, properties=props)
    c.loop_start()
    c.disconnect()
    c.loop_stop()


def clear_retained(mqtt_url: str, topics: list[str]) -> None:
    """Delete retained messages (an empty retained publish). Left behind, a retained ``state``
    of a device the next database does not know reaches every new subscriber as a dead letter."""
    ep = MqttEndpoint.parse(mqtt_url)
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"cleaner-{time.monotonic_ns()}")
    ep.paho_setup(c)
    c.connect(ep.host, ep.port)
    c.loop_start()
    infos = [c.publish(t, b"", qos=1, retain=True) for t in topics]
    for info in infos:
        info.wait_for_publish(timeout=10)
    c.disconnect()
    c.loop_stop()


def make_test_ca(directory: Path) -> None:
    """A throwaway CA and a server certificate for localhost/127.0.0.1 signed by it (openssl):
    what a city does with its own CA, in miniature (README "Security")."""

    def ossl(line: str, *extra: str) -> None:
        cmd = ["openssl", *line.split(), *extra]
        subprocess.run(cmd, check=True, capture_output=True, cwd=directory)

    ossl("req -x509 -newkey rsa:2048 -nodes -days 30 -keyout ca.key -out ca.pem", "-subj",
         "/CN=EnforceHub test CA")  # fmt: skip
    ossl("req -newkey rsa:2048 -nodes -keyout server.key -out server.csr", "-subj", "/CN=localhost")
    (directory / "server.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ossl("x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30"
         " -out server.pem -extfile server.ext")  # fmt: skip


def up(state_dir: Path) -> Services:
    """Install what is missing, start Mosquitto and TimescaleDB, return how to reach them."""
    existing = Services.load(state_dir)
    if existing is not None:
        _log("services already up; restarting them cleanly")
        down(state_dir)
    ensure_mosquitto()
    root = ensure_tsdb_root()
    pg_port = free_port()
    svc = Services(
        state_dir=str(state_dir),
        mqtt_port=free_port(),
        pg_port=pg_port,
        tsdb_root=str(root),
        pg_datadir=f"/srv/ehub-{pg_port}",
        tls_port=free_port(),
        passwords={
            name: secrets.token_urlsafe(18)
            for name in ("ehub-admin", *SERVICE_ROLES, *TEST_ROLES)
            if not name.endswith("-subscriber")
        },
    )
    svc.save()
    cluster = svc.cluster
    cluster.initdb()
    svc.start_db()
    svc.start_broker()
    svc.setup_accounts()
    _log(
        f"mosquitto 127.0.0.1:{svc.mqtt_port} (TLS {svc.tls_port}, CA {svc.ca_file})  "
        f"timescaledb {svc.database_url}"
    )
    _log(
        "anonymous access is off; the accounts and their URLs (with passwords) are in "
        f"{state_dir}/env: `source {state_dir}/env` or `python -m ehub.services env`"
    )
    return svc


def down(state_dir: Path) -> None:
    """Stop both services and delete their data."""
    svc = Services.load(state_dir)
    if svc is None:
        return
    svc.stop_broker()
    with contextlib.suppress(ClusterError, OSError):
        svc.cluster.destroy()
    shutil.rmtree(state_dir, ignore_errors=True)
    _log("services down")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ehub-services", description=__doc__)
    parser.add_argument("action", choices=["up", "down", "env", "status"])
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    args = parser.parse_args(argv)
    if args.action == "up":
        svc = up(args.state_dir)
        print(f"EHUB_TEST_MQTT_URL={svc.mqtt_url}")
        print(f"EHUB_TEST_DATABASE_URL={svc.database_url}")
        print(f"# every broker account and its URL: source {args.state_dir}/env")
    elif args.action == "down":
        down(args.state_dir)
    else:
        loaded = Services.load(args.state_dir)
        if loaded is None:
            print("services are not up", file=sys.stderr)
            return 1
        if args.action == "env":
            print((Path(loaded.state_dir) / "env").read_text(), end="")
        else:
            print(
                json.dumps(
                    {
                        **asdict(loaded),
                        "mqtt_url": loaded.mqtt_url,
                        "database_url": loaded.database_url,
                        "db_running": loaded.cluster.running(),
                    },
                    indent=2,
                )
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
