"""The hub's web UI: server-rendered pages (Jinja2, htmx for partial updates, Leaflet for maps;
all vendored under ``static/``, no build step), in Chinese and English, times in Asia/Shanghai.

Pages read through the same services as the API and the browser's own calls go to the API with
the session cookie (``hub.api.deps``), so the UI can do nothing the API would refuse.
"""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    """The ``router`` of every ``hub.web.pages*`` module (one per area of the UI)."""
    found: list[APIRouter] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("pages"):
            module = importlib.import_module(f"{__name__}.{info.name}")
            router = getattr(module, "router", None)
            if isinstance(router, APIRouter):
                found.append(router)
    return found
