"""Telling maintenance staff about alerts: the live web UI, a webhook, and their terminals.

Channels (each a ``Channel``: ``deliver(batch) -> undelivered``):

- ``BroadcastChannel``: an in-process fan-out (``AlertBroadcaster``) that the SSE endpoint
  ``GET /api/v1/alerts/stream`` reads, filtered to each caller's reach. Never fails.
- ``WebhookChannel``: one ``POST`` of the notification's JSON per alert to a configured URL
  (``EHUB_HUB_ALERT_WEBHOOK_URL``), retried with backoff; the receiver routes by
  ``org_unit_id``.
- ``MqttChannel``: QoS 1 to ``ehub/v1/hub/alerts/{org_unit_id}/{kind}`` (not retained), which
  the maintenance terminals of a team subscribe to as ``ehub/v1/hub/alerts/{team}/+``; a
  district's staff may use ``ehub/v1/hub/alerts/+/+``. The topic has six levels on purpose: the
  gateway subscribes ``ehub/v1/+/+/+`` and would dead-letter a five-level hub topic as a
  malformed device topic. Payload: ``Notification.to_json()`` (``{"v": 1, "event": ...}``).

``Notifier`` delivers each batch on every channel; whatever a channel could not deliver is kept
(up to ``max_pending`` per channel, oldest dropped with a log line) and tried again first on the
next call. A delivery failure is logged, never raised: the alert loop must keep running.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import urllib.error
import urllib.request
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiomqtt

from hub.domain.alerts import Notification
from hub.settings import HubSettings
from schemas.broker import MqttEndpoint

log = logging.getLogger(__name__)

ALERT_TOPIC_PREFIX = "ehub/v1/hub/alerts"
_TOPIC_LEVEL = re.compile(r"^[^/+#\x00]{1,64}$")


def alert_topic(org_unit_id: str, kind: str) -> str:
    """``ehub/v1/hub/alerts/{org_unit_id}/{kind}``; ``ValueError`` if a part is not topic-safe."""
    for part in (org_unit_id, kind):
        if not _TOPIC_LEVEL.fullmatch(part):
            raise ValueError(f"{part!r} cannot be an MQTT topic level")
    return f"{ALERT_TOPIC_PREFIX}/{org_unit_id}/{kind}"


def encode(n: Notification) -> bytes:
    return json.dumps(n.to_json(), ensure_ascii=False, separators=(",", ":")).encode()


class Channel(Protocol):
    name: str

    async def deliver(self, batch: Sequence[Notification]) -> list[Notification]:
        """Deliver ``batch`` in order; return what could not be delivered (to retry later)."""
        ...


# ------------------------------------------------------------------------ broadcaster ------
class Subscription:
    """One listener's queue: an async iterator of notifications. ``close()`` when done."""

    def __init__(self, owner: AlertBroadcaster, size: int) -> None:
        self._owner = owner
        self._queue: asyncio.Queue[Notification] = asyncio.Queue(size)
        self.dropped = 0

    def _put(self, n: Notification) -> None:
        if self._queue.full():  # a slow reader loses the oldest, never blocks the others
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(n)

    async def get(self) -> Notification:
        return await self._queue.get()

    def __aiter__(self) -> AsyncIterator[Notification]:
        return self

    async def __anext__(self) -> Notification:
        return await self._queue.get()

    def close(self) -> None:
        self._owner._subscribers.discard(self)


class AlertBroadcaster:
    """In-process fan-out of notifications to live listeners (SSE). Use from one event loop."""

    def __init__(self, queue_size: int = 1000) -> None:
        self._subscribers: set[Subscription] = set()
        self._size = queue_size

    def subscribe(self) -> Subscription:
        sub = Subscription(self, self._size)
        self._subscribers.add(sub)
        return sub

    def publish(self, n: Notification) -> None:
        for sub in list(self._subscribers):
            sub._put(n)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)


def app_broadcaster(state: Any) -> AlertBroadcaster:
    """The broadcaster kept on ``app.state`` (created on first use); the alert loop and the SSE
    endpoint must share it: pass ``app_broadcaster(app.state)`` to ``run_alert_loop``."""
    b = getattr(state, "alert_broadcaster", None)
    if not isinstance(b, AlertBroadcaster):
        b = AlertBroadcaster()
        state.alert_broadcaster = b
    return b


class BroadcastChannel:
    name = "live"

    def __init__(self, broadcaster: AlertBroadcaster) -> None:
        self.broadcaster = broadcaster

    async def deliver(self, batch: Sequence[Notification]) -> list[Notification]:
        for n in batch:
            self.broadcaster.publish(n)
        return []


# ---------------------------------------------------------------------------- webhook ------
Post = Callable[[str, bytes], Awaitable[None]]


class DeliveryError(Exception):
    """A receiver refused or could not be reached."""


def _post_blocking(url: str, body: bytes, timeout_s: float) -> None:
    req = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "enforcement-hub/alerts"},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            resp.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code} from the webhook") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"webhook unreachable: {exc}") from exc


class WebhookChannel:
    """POST each notification; ``attempts`` tries with doubling backoff, then give up for now."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        *,
        attempts: int = 3,
        backoff_s: float = 0.5,
        timeout_s: float = 5.0,
        post: Post | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError("the alert webhook must be an http(s) URL")
        self.url = url
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self._post = post or self._urllib_post
        self._sleep = sleep

    async def _urllib_post(self, url: str, body: bytes) -> None:
        await asyncio.to_thread(_post_blocking, url, body, self.timeout_s)

    async def deliver(self, batch: Sequence[Notification]) -> list[Notification]:
        for i, n in enumerate(batch):
            delay = self.backoff_s
            for attempt in range(1, self.attempts + 1):
                try:
                    await self._post(self.url, encode(n))
                    break
                except DeliveryError as exc:
                    log.warning(
                        "alert %d: webhook attempt %d/%d failed: %s",
                        n.alert_id,
                        attempt,
                        self.attempts,
                        exc,
                    )
                    if attempt < self.attempts:
                        await self._sleep(delay)
                        delay *= 2
            else:
                # The receiver is down: keep this and the rest for the next cycle rather than
                # spending every backoff on each of them now.
                return list(batch[i:])
        return []


# ------------------------------------------------------------------------------- MQTT ------
class Publisher(Protocol):
    async def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Publish all at QoS 1 (PUBACKed) or raise."""
        ...


class AiomqttPublisher:
    """A short connection per batch: alerts are rare, and nothing to keep alive in between."""

    def __init__(self, mqtt_url: str, *, timeout_s: float = 10.0) -> None:
        self.endpoint = MqttEndpoint.parse(mqtt_url)  # the hub's account (ehub-hub), TLS
        self.timeout_s = timeout_s

    async def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        async with aiomqtt.Client(
            **self.endpoint.aiomqtt_kwargs(),
            identifier=f"ehub-alerts-{uuid.uuid4().hex[:8]}",
            timeout=self.timeout_s,
        ) as client:
            for topic, payload in messages:
                await client.publish(topic, payload, qos=1)


class MqttChannel:
    name = "mqtt"

    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher

    async def deliver(self, batch: Sequence[Notification]) -> list[Notification]:
        messages, routable = [], []
        for n in batch:
            try:
                messages.append((alert_topic(n.org_unit_id or "", n.kind), encode(n)))
                routable.append(n)
            except ValueError as exc:
                log.error("alert %d cannot be sent over MQTT: %s", n.alert_id, exc)
        if not messages:
            return []
        try:
            await self.publisher.publish(messages)
        except (aiomqtt.MqttError, OSError, TimeoutError) as exc:
            log.warning("alerts over MQTT failed (%d to retry): %s", len(routable), exc)
            return routable  # QoS 1 to the terminals: a repeat is fine, a loss is not
        return []


# --------------------------------------------------------------------------- notifier ------
class Notifier:
    def __init__(self, channels: Sequence[Channel], *, max_pending: int = 1000) -> None:
        self.channels = list(channels)
        self.pending: dict[str, deque[Notification]] = {
            c.name: deque(maxlen=max_pending) for c in self.channels
        }

    @classmethod
    def from_settings(cls, settings: HubSettings, broadcaster: AlertBroadcaster) -> Notifier:
        channels: list[Channel] = [BroadcastChannel(broadcaster)]
        if settings.hub_alert_webhook_url:
            channels.append(WebhookChannel(settings.hub_alert_webhook_url))
        channels.append(MqttChannel(AiomqttPublisher(settings.mqtt_url)))
        return cls(channels)

    async def deliver(self, batch: Sequence[Notification]) -> None:
        """Deliver what is still pending, then ``batch``, on every channel. Never raises."""
        for channel in self.channels:
            queue = self.pending[channel.name]
            todo = [*queue, *batch]
            queue.clear()
            if not todo:
                continue
            try:
                left = await channel.deliver(todo)
            except Exception:  # a bug in one channel must not silence the others
                log.exception("alert channel %s failed", channel.name)
                left = todo
            if len(left) > (queue.maxlen or len(left)):
                log.error(
                    "alert channel %s: dropping %d undelivered notifications",
                    channel.name,
                    len(left) - (queue.maxlen or 0),
                )
            queue.extend(left)
