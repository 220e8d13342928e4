"""A hub worker against the real broker and a fresh database."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator

import pytest

from ehub.services import drop_session
from hub.settings import HubSettings
from hub.worker import HubWorker


@pytest.fixture()
def start_hub_worker(
    mqtt_url: str, service_mqtt_url: Callable[[str], str]
) -> Iterator[Callable[[str], HubWorker]]:
    started: list[tuple[HubWorker, threading.Thread]] = []

    def start(db_url: str) -> HubWorker:
        worker = HubWorker(
            HubSettings(
                mqtt_url=service_mqtt_url("ehub-hub-worker"),
                database_url=db_url,
                hub_worker_client_id=f"hubw-{uuid.uuid4().hex[:8]}",
                hub_worker_session_expiry_s=120,
            )
        )
        ready = threading.Event()
        t = threading.Thread(target=worker.run, kwargs={"ready": ready}, daemon=True)
        t.start()
        assert ready.wait(20) and worker.subscribed.is_set(), "hub worker did not subscribe"
        started.append((worker, t))
        return worker

    yield start
    for worker, t in started:
        worker.request_stop()
        t.join(15)
        assert not t.is_alive(), "hub worker did not stop"
        drop_session(mqtt_url, worker.settings.hub_worker_client_id)
