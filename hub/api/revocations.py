"""Ending an account's open streams the moment it is deactivated (issue 12 part 7).

Requests check the account on every call (``hub.api.deps.principal``); a stream (SSE) checks
once at the start and then every minute, which is too slow for an account just taken away.
The deactivating request tells this registry, and every stream of that account in this process
ends at once with ``event: expired``. Streams on other hub replicas still end at their next
minute's check (the registry is per process).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")


class Revoked(Exception):
    """The stream's account was deactivated."""


class Watch:
    """One stream's watch on its account."""

    def __init__(self, owner: Revocations, username: str) -> None:
        self._owner = owner
        self.username = username
        self.revoked = asyncio.Event()

    async def next(self, item: Awaitable[T], timeout: float) -> T:
        """``item`` within ``timeout`` (else ``TimeoutError``), unless the account is revoked
        first (``Revoked``). Waiting on a queue's ``get`` loses nothing when cut short."""
        if self.revoked.is_set():
            raise Revoked
        get = asyncio.ensure_future(item)
        stop = asyncio.ensure_future(self.revoked.wait())
        try:
            done, _ = await asyncio.wait(
                (get, stop), timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stop.cancel()
            if not get.done():
                get.cancel()
        if get in done:
            return get.result()
        if stop in done:
            raise Revoked
        raise TimeoutError

    def close(self) -> None:
        self._owner.forget(self)


class Revocations:
    def __init__(self) -> None:
        self._watches: dict[str, set[Watch]] = {}

    def watch(self, username: str) -> Watch:
        w = Watch(self, username)
        self._watches.setdefault(username, set()).add(w)
        return w

    def forget(self, w: Watch) -> None:
        watches = self._watches.get(w.username)
        if watches is not None:
            watches.discard(w)
            if not watches:
                del self._watches[w.username]

    def revoke(self, username: str) -> int:
        """End every stream of ``username``; how many there were."""
        watches = self._watches.get(username, set())
        for w in watches:
            w.revoked.set()
        return len(watches)


def of(state: Any) -> Revocations:
    """The app's registry (``create_app`` puts it on ``app.state``)."""
    r: Revocations = state.revocations
    return r
