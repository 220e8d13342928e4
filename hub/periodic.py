"""Run a job every ``interval_s`` until told to stop, surviving its failures (the hub's loops)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def every(
    name: str, interval_s: float, stop: asyncio.Event, cycle: Callable[[], Awaitable[None]]
) -> None:
    log.info("%s loop: every %g s", name, interval_s)
    while not stop.is_set():
        try:
            await cycle()
        except Exception:  # never let a bug end the loop silently; try again next cycle
            log.exception("%s cycle failed", name)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
    log.info("%s loop stopped", name)
