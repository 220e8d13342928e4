"""What every EnforceHub process shows operators over HTTP: metrics, liveness, readiness.

These paths are contract (``docker-compose.yml``'s healthchecks, ``dashboards/prometheus.yml``
and ``ehub doctor`` use them), so they live here, beside the MQTT contract. The hub serves them
from its own FastAPI app (``hub/api/routes/ops.py``); the gateway, the hub worker and the
JT/T 808 bridge, which have no web server, start ``serve_probes`` on their metrics port.

- ``/metrics``: Prometheus text exposition of the process's own registry.
- ``/livez``: 200 while the process runs (a stuck process is the orchestrator's to restart).
- ``/readyz``: 200 when ``ready()`` says the process does its work (connected, subscribed,
  database up), else 503 with the reason in the body; a compose healthcheck waits for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

METRICS_PATH = "/metrics"
LIVE_PATH = "/livez"
READY_PATH = "/readyz"

# ``ready()`` returns None when ready, else a plain-words reason ("MQTT not subscribed").
ReadyCheck = Callable[[], str | None]


class ProbeServer:
    """A small threaded HTTP server for the three paths, in a daemon thread of its own."""

    def __init__(
        self, registry: CollectorRegistry, port: int, addr: str, ready: ReadyCheck
    ) -> None:
        self.registry, self.ready = registry, ready
        self._http = ThreadingHTTPServer((addr, port), _handler(self))
        self._http.daemon_threads = True
        self._thread = threading.Thread(
            target=self._http.serve_forever, name=f"probes-{port}", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._http.server_address[1])

    def start(self) -> ProbeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()


def _handler(server: ProbeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == METRICS_PATH:
                self._send(200, generate_latest(server.registry), CONTENT_TYPE_LATEST)
            elif path == LIVE_PATH:
                self._send(200, b"ok\n")
            elif path == READY_PATH:
                try:
                    why = server.ready()
                except Exception as exc:  # a broken check is "not ready", never a crash
                    why = f"readiness check failed: {exc!r}"
                if why is None:
                    self._send(200, b"ready\n")
                else:
                    self._send(503, f"not ready: {why}\n".encode())
            else:
                self._send(404, b"not found\n")

        def _send(self, code: int, body: bytes, ctype: str = "text/plain; charset=utf-8") -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # scraped every 15 s: no access log

    return Handler


def serve_probes(
    registry: CollectorRegistry, port: int, addr: str, ready: ReadyCheck
) -> ProbeServer:
    """Start serving ``/metrics``, ``/livez`` and ``/readyz`` on ``addr:port`` (0: any port)."""
    return ProbeServer(registry, port, addr, ready).start()
