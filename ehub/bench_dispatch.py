"""``ehub bench dispatch``: nearest available unit among ``--units`` moving units, in memory.

``--units`` officers and vehicles (a tenth vehicles, each with an officer beside it, as the
crew) spread over Shenzhen, about 60 % available. Before each batch of ``--batch`` queries,
``--updates`` of them move a random step (up to ~150 m) through ``UnitTracker.__call__``, as the
live index feeds it; availability changes for a few too. Then, for ``--queries`` random
incident points, each timed on its own:

1. ``UnitGrid.nearest``: the ``--k`` nearest available units (target p95 <= 10 ms);
2. ``UnitTracker.propose``: the whole proposal (k proposed, vehicles' crews, and the 10 nearest
   passed over with their reasons), as ``GET /incidents/{id}/proposals`` answers it;
3. the baseline: brute-force haversine over every unit, same points, same filter; its answer
   must equal the grid's (checked on every query).

The ratio printed is baseline p95 / grid p95. The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import UTC, datetime

from hub.domain.nearest import brute_force
from hub.live.model import LiveDevice
from hub.services.units import Availability, UnitTracker

# Shenzhen's built-up area, roughly.
LAT0, LAT1, LON0, LON1 = 22.48, 22.78, 113.80, 114.40
STEP_DEG = 0.0013  # ~150 m: a 0.5 s refresh of a car at speed, or a few minutes on foot
TARGET_P95_MS = 10.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--units", type=int, default=10_000)
    p.add_argument("--queries", type=int, default=1_000, help="timed queries (>= 1,000)")
    p.add_argument("--batch", type=int, default=50, help="queries between update rounds")
    p.add_argument("--updates", type=int, default=2_000, help="moves before each batch")
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--seed", type=int, default=808)


def _say(msg: str) -> None:
    print(msg, flush=True)


def _pct(xs: list[float], q: int) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1] if len(xs) > 1 else xs[0]


def _device(device_id: str, lat: float, lon: float, **kw: str | None) -> LiveDevice:
    now = datetime.now(UTC)
    return LiveDevice(
        device_id=device_id,
        device_type=kw.get("device_type") or "mobile_terminal",
        org_unit_id="bench-team",
        status="assigned",
        presence="online",
        last_seen=now,
        battery_pct=80.0,
        lat=lat,
        lon=lon,
        speed_kmh=20.0,
        heading_deg=0.0,
        position_time=now,
        last_event=None,
        holder_staff_id=kw.get("holder"),
        vehicle_id=kw.get("vehicle"),
    )


def main(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    tracker = UnitTracker()
    n_vehicles = args.units // 10
    n_officers = args.units - n_vehicles
    devices: dict[str, LiveDevice] = {}
    for i in range(n_officers):
        lat, lon = rng.uniform(LAT0, LAT1), rng.uniform(LON0, LON1)
        devices[f"t{i}"] = _device(f"t{i}", lat, lon, holder=f"s{i}")
    for i in range(n_vehicles):
        crew = devices[f"t{i}"]  # the first officers ride in the vehicles
        assert crew.lat is not None and crew.lon is not None
        devices[f"v{i}"] = _device(
            f"v{i}", crew.lat, crew.lon, device_type="vehicle_tracker", vehicle=f"car{i}"
        )
    t = time.perf_counter()
    tracker(list(devices.values()))
    on_shift = {f"s{i}" for i in range(n_officers) if rng.random() < 0.7}
    busy = {f"s{i}": i for i in range(n_officers) if rng.random() < 0.1}
    tracker.apply_availability(
        Availability(
            on_shift=frozenset(on_shift),
            staff={f"s{i}": ("bench-team", "on_duty") for i in range(n_officers)},
            vehicles={f"car{i}": ("bench-team", "assigned") for i in range(n_vehicles)},
            busy_staff=busy,
        )
    )
    _say(
        f"{n_officers} officers + {n_vehicles} vehicles loaded in "
        f"{(time.perf_counter() - t) * 1000:.0f} ms; "
        f"{sum(tracker.grid.is_available(k) for k in tracker.units)} available"
    )

    ids = list(devices)
    grid_ms: list[float] = []
    propose_ms: list[float] = []
    brute_ms: list[float] = []
    update_s = 0.0
    moved = 0
    mismatches = 0
    while len(grid_ms) < args.queries:
        # A round of movement, as the live index delivers it (one call per refresh).
        batch = []
        for device_id in rng.sample(ids, min(args.updates, len(ids))):
            d = devices[device_id]
            assert d.lat is not None and d.lon is not None
            lat = min(LAT1, max(LAT0, d.lat + rng.uniform(-STEP_DEG, STEP_DEG)))
            lon = min(LON1, max(LON0, d.lon + rng.uniform(-STEP_DEG, STEP_DEG)))
            devices[device_id] = d = _device(
                device_id,
                lat,
                lon,
                device_type=d.device_type,
                holder=d.holder_staff_id,
                vehicle=d.vehicle_id,
            )
            batch.append(d)
        for _ in range(20):  # someone signs out, someone else is freed
            s = f"s{rng.randrange(n_officers)}"
            if rng.random() < 0.5:
                tracker.mark_busy(s, None, 1)
            else:
                tracker.mark_free(s, None)
        t = time.perf_counter()
        tracker(batch)
        update_s += time.perf_counter() - t
        moved += len(batch)
        # The baseline's view of the same moment.
        where: dict[str, tuple[float, float]] = {}
        for u, unit in tracker.units.items():
            if unit.lat is not None and unit.lon is not None:
                where[u] = (unit.lat, unit.lon)
        for _ in range(args.batch):
            lat, lon = rng.uniform(LAT0, LAT1), rng.uniform(LON0, LON1)
            t = time.perf_counter()
            got = tracker.grid.nearest(lat, lon, args.k)
            grid_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            tracker.propose(lat, lon, k=args.k)
            propose_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            want = brute_force(where, lat, lon, args.k, predicate=tracker.grid.is_available)
            brute_ms.append((time.perf_counter() - t) * 1000)
            mismatches += got != want

    g50, g95 = _pct(grid_ms, 50), _pct(grid_ms, 95)
    p50, p95 = _pct(propose_ms, 50), _pct(propose_ms, 95)
    b50, b95 = _pct(brute_ms, 50), _pct(brute_ms, 95)
    ok = g95 <= TARGET_P95_MS and p95 <= TARGET_P95_MS and mismatches == 0
    _say(f"{len(grid_ms)} queries, {moved} moves ({moved / update_s:,.0f} moves/s fed)")
    _say(f"grid nearest k={args.k}:      p50 {g50:.3f} ms  p95 {g95:.3f} ms")
    _say(f"full proposal:          p50 {p50:.3f} ms  p95 {p95:.3f} ms")
    _say(f"baseline brute force:   p50 {b50:.3f} ms  p95 {b95:.3f} ms")
    _say(
        f"ratio (baseline p95 / grid p95): {b95 / g95:.0f}x; answers differing: {mismatches}; "
        f"target p95 <= {TARGET_P95_MS:.0f} ms: {'PASS' if ok else 'MISS'}"
    )
    print(
        json.dumps(
            {
                "units": args.units,
                "queries": len(grid_ms),
                "updates_per_batch": args.updates,
                "grid_p50_ms": round(g50, 4),
                "grid_p95_ms": round(g95, 4),
                "proposal_p50_ms": round(p50, 4),
                "proposal_p95_ms": round(p95, 4),
                "baseline_p50_ms": round(b50, 4),
                "baseline_p95_ms": round(b95, 4),
                "ratio_p95": round(b95 / g95, 1),
                "moves_per_s": round(moved / update_s),
                "mismatches": mismatches,
                "pass": ok,
            }
        )
    )
    return 0 if ok else 1
