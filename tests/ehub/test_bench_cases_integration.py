"""``ehub bench cases`` as the README runs it, at toy sizes: every group of figures (case list and
detail, on the spot, log appends, proofs, verify) runs on the real TimescaleDB and prints each
figure with its verdict and its same-run baseline. The figures themselves are the benchmark's
business (README "Performance"); this checks the command that produces them still works."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from ehub.services import Services

TOY = [
    "--appends", "40", "--runs", "1", "--writers", "1,2",
    "--proof-leaves", "600", "--verify-leaves", "600", "--proofs", "10",
    "--list-cases", "1500", "--list-detail-cases", "3", "--list-runs", "5",
    "--onspot-runs", "2", "--onspot-chunk-interval", "0",
]  # fmt: skip


def _bench(services: Services, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EHUB_TEST_DATABASE_URL": services.database_url}
    return subprocess.run(
        [sys.executable, "-m", "ehub", "bench", "cases", *TOY, *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def test_every_figure_prints_with_its_verdict_and_baseline(services: Services) -> None:
    run = _bench(services)
    out = run.stdout
    assert run.returncode in (0, 1), run.stderr[-2000:]  # 1: a figure missed its target
    for figure in (
        r"list filed first page: median [\d.]+ ms, p95 [\d.]+ ms -> (PASS|MISS)",
        r"detail \(50 events\): median [\d.]+ ms, p95 [\d.]+ ms -> (PASS|MISS)",
        r"baseline: PK SELECT of a case row: median [\d.]+ ms",
        r"tap to printed \(2 runs, BLE MTU 20 B.*(PASS|MISS)",
        r"baseline, bare BLE transfer of the same bytes",
        r"best committed and integrated: [\d,]+ events/s -> (PASS|MISS)",
        r"baseline without the log [\d,]+ events/s",
        r"inclusion proof at 600 leaves: median [\d.]+ ms, p95 [\d.]+ ms -> (PASS|MISS)",
        r"consistency proof at 600 leaves",
        r"full verify of 600 leaves: [\d.]+ s .* baseline reading the same rows",
    ):
        assert re.search(figure, out), f"missing {figure!r} in:\n{out[-3000:]}"
    # The exit code says whether every target was met, and agrees with the verdicts printed.
    assert (run.returncode == 0) == ("MISS" not in out)


def test_only_picks_groups(services: Services) -> None:
    run = _bench(services, "--only", "onspot")
    assert "tap to printed" in run.stdout
    assert "list filed" not in run.stdout and "appends inside" not in run.stdout
