"""A batch the database refuses is bisected down to its bad rows: one bad row among n costs
O(log n) transactions, not n. Real TimescaleDB; the poison is injected after validation."""

from __future__ import annotations

import math

from ehub.bench_poison import build_items, gateway_for, one_by_one, register, run
from gateway.service import Gateway
from tests.helpers import query


def test_one_percent_poison_in_2000_is_isolated_in_log_n_transactions_per_bad_row(db_url, mqtt_url):
    register(db_url)
    gw = gateway_for(db_url, mqtt_url)
    try:
        _, transactions, res = run(gw, build_items(2000, 0.01, 0), Gateway._write_isolating)
    finally:
        gw.writer.close()
    assert sum(res.stored.values()) == 1980
    assert dict(res.dead_letters) == {"db_rejected": 20}
    assert query(db_url, "SELECT count(*) FROM positions") == [(1980,)]
    assert query(db_url, "SELECT count(*) FROM dead_letters WHERE reason = 'db_rejected'") == [
        (20,)
    ]
    # Each bad row: at most two writes per level of the bisection, plus its dead letter.
    assert transactions <= 1 + 20 * (2 * math.ceil(math.log2(2000)) + 1)
    assert transactions < 2000 / 4


def test_one_by_one_baseline_stores_the_same(db_url, mqtt_url):
    """The measured baseline of ``ehub bench poison`` does the same work, one per message."""
    register(db_url)
    gw = gateway_for(db_url, mqtt_url)
    try:
        _, transactions, res = run(gw, build_items(200, 0.05, 0), one_by_one)
    finally:
        gw.writer.close()
    assert sum(res.stored.values()) == 190 and dict(res.dead_letters) == {"db_rejected": 10}
    assert transactions == 1 + 200 + 10
