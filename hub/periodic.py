"""Run a job every ``interval_s`` until told to stop, surviving its failures (the hub's loops)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from hub.metrics import LOOP_METRICS

log = logging.getLogger(__name__)


async def every(
    name: str, interval_s: float, stop: asyncio.Event, cycle: Callable[[], Awaitable[None]]
) -> None:
    log.info("%s loop: every %g s", name, interval_s)
    metrics = LOOP_METRICS.get()  # the app's, when its lifespan started us (hub/metrics.py)
    while not stop.is_set():
        t0, failed = time.perf_counter(), False
        try:
            await cycle()
        except Exception:  # never let a bug end the loop silently; try again next cycle
            failed = True
            log.exception("%s cycle failed", name)
        if metrics is not None:
            metrics.observe_cycle(name, time.perf_counter() - t0, failed)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
    log.info("%s loop stopped", name)
