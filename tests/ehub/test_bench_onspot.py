"""``ehub.bench_onspot``: the tap-to-printed figure runs end to end and prints its baselines."""

from __future__ import annotations

from ehub.bench_onspot import onspot_figures


def test_the_figure_prints_tap_to_printed_with_its_baselines(capsys):
    f = onspot_figures(runs=3, mtu=20, chunk_interval_s=0.0)
    out = capsys.readouterr().out
    assert "tap to printed (3 runs, BLE MTU 20 B" in out
    assert "bare BLE transfer of the same bytes" in out and "fill + check + layout" in out
    assert len(f.tap_to_printed_ms) == len(f.bare_transfer_ms) == 3
    assert f.bytes_per_decision > 1000  # a whole decision with its QR code, not a stub
    assert f.as_json()["tap_to_printed"]["median_ms"] > 0
