"""The README's first command: the demo runs on its own embedded services and exits 0."""

from __future__ import annotations

import re
import subprocess
import sys


def test_demo_runs_for_a_fixed_time_and_summarises():
    proc = subprocess.run(
        [sys.executable, "-m", "ehub", "demo", "--devices", "12", "--duration", "8"],
        check=False,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "embedded PostgreSQL" in out and "embedded MQTT broker" in out
    assert re.search(r"pub/sto .*\|\s+\d+/12", out), out  # live per-type lines with online/total
    m = re.search(
        r"demo: done devices=12 .* published=(\d+) acked=(\d+) stored=(\d+) "
        r"duplicates=\d+ dead_letters=(\d+) pending=(\d+)",
        out,
    )
    assert m, out
    published, acked, stored, dead, pending = map(int, m.groups())
    assert published > 50
    assert published == acked == stored
    assert dead == 0 and pending == 0
    # The demo has people: staff, today's shifts, kit out to the officers, a login per role,
    # and the simulated terminals' sign-ins were accepted for the shifts seeded for them.
    people = re.search(
        r"demo: people staff=(\d+) shifts=(\d+) kit_checked_out=(\d+) refused=0", out
    )
    assert people, out
    assert all(int(n) > 0 for n in people.groups())
    for role in ("equipment_manager", "maintenance", "dispatcher", "supervisor", "officer"):
        assert f"role={role}" in out
    signed_in = re.search(r"officers_signed_in=(\d+)", out)
    assert signed_in and int(signed_in.group(1)) > 0, out
    # vehicle trackers came in over JT/T 808 through the bridge, and were stored
    assert "speak JT/T 808 to the bridge" in out
    last = [line for line in out.splitlines() if line.startswith("pub/sto")][-1]
    tracker_cell = last.split("|")[1]  # columns follow DeviceType: camera, tracker, ...
    assert int(tracker_cell.split("/")[1]) > 0, last
    # Cases: the summary line ends with the case figures, each non-zero: the ordinary case
    # carried to 结案, the cases in progress, at least one on-the-spot decision printed on a
    # simulated printer and filed, their documents, and the log's signed checkpoint served by
    # the hub's public /transparency/checkpoint while it ran.
    done = re.search(
        r"demo: done .* cases=(\d+) decisions=(\d+) documents=(\d+) transparency_size=(\d+)$",
        out,
        re.MULTILINE,
    )
    assert done, out
    cases, decisions, documents, size = map(int, done.groups())
    assert cases >= 6 and decisions >= 2 and documents > decisions and size >= documents, out
    assert re.search(r"demo: cases ordinary_closed=1 in_progress=4 on_spot=[12] refused=0", out)
    assert re.search(r"demo: on the spot: \S+ printing decision \S+", out), out
    verified = re.search(r"demo: verify pages: (\d+)/(\d+) decisions verified", out)
    assert verified and verified.group(1) == verified.group(2) == str(decisions), out
    seen = re.search(r"demo: transparency log: checkpoint of size (\d+) served at", out)
    assert seen and int(seen.group(1)) == size, out
    # ...and an outside verifier's check of the public endpoints holds.
    assert (
        f"demo: transparency log: {size} entries from /transparency/entries rebuild the"
        " checkpoint's root: yes; the last entry's inclusion proof verifies: yes"
    ) in out, out
    # ...and the hub's deadline-alert loop raised them: yellow ones and the red one.
    alerts = re.search(r"deadline_alerts_yellow=(\d+) deadline_alerts_red=(\d+)", out)
    assert alerts and int(alerts.group(1)) >= 2 and int(alerts.group(2)) >= 1, out


def test_demo_stops_cleanly_on_sigterm():
    """``kill`` (SIGTERM) stops the demo as Ctrl-C does: the embedded PostgreSQL stops and the
    temporary directory goes; the log file (outside it) stays, and the terminal has no log."""
    import os
    import signal
    import time
    from pathlib import Path

    proc = subprocess.Popen(
        [sys.executable, "-m", "ehub", "demo", "--devices", "12"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen.append(line)
        if line.startswith("pub/sto"):  # running: the fleet is publishing
            break
    text = "".join(seen)
    data = re.search(r"starting embedded PostgreSQL in (\S+)/pg", text)
    log = re.search(r"demo: logs in (\S+)", text)
    assert data and log, text
    os.kill(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 130, out[-2000:] + err[-2000:]
    assert "demo: interrupted" in out
    assert not Path(data.group(1)).exists()  # the temporary directory is gone
    pids = subprocess.run(
        ["pgrep", "-f", data.group(1)], check=False, capture_output=True, text=True
    )
    assert pids.stdout.strip() == ""  # no PostgreSQL left running on it
    logged = Path(log.group(1))
    assert "gateway.service" in logged.read_text(encoding="utf-8")
    assert "INFO gateway" not in text + out  # log lines are in the file, not on the terminal
    logged.unlink()
