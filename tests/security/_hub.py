"""The hub as the security tests attack it: the real app on a fresh TimescaleDB database, the
small seeded city of ``tests.factories.hub``, and a client that can come from any address."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.settings import HubSettings
from tests.factories.hub import seed_city

SECRET = "s" * 40


def hub_settings(db_url: str, **overrides: Any) -> HubSettings:
    return HubSettings(
        database_url=db_url, hub_jwt_secret=SECRET, hub_id_hash_key="k" * 40, **overrides
    )


@pytest.fixture()
def hub_client(db_url: str) -> Iterator[Callable[..., TestClient]]:
    """``make(addr="testclient", **settings)``: a client of the hub (one app per call)."""
    with ExitStack() as stack:
        seeded = False

        def make(addr: str = "testclient", **overrides: Any) -> TestClient:
            nonlocal seeded
            app = create_app(hub_settings(db_url, **overrides))
            client = stack.enter_context(TestClient(app, client=(addr, 50000)))
            if not seeded:
                seed_city(db_url)
                seeded = True
            return client

        yield make
