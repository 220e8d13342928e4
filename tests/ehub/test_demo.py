"""The README's first command: the demo runs on its own embedded services and exits 0."""

from __future__ import annotations

import re
import subprocess
import sys


def test_demo_runs_for_a_fixed_time_and_summarises():
    proc = subprocess.run(
        [sys.executable, "-m", "ehub", "demo", "--devices", "12", "--duration", "6"],
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
    # vehicle trackers came in over JT/T 808 through the bridge, and were stored
    assert "speak JT/T 808 to the bridge" in out
    last = [line for line in out.splitlines() if line.startswith("pub/sto")][-1]
    tracker_cell = last.split("|")[1]  # columns follow DeviceType: camera, tracker, ...
    assert int(tracker_cell.split("/")[1]) > 0, last
