"""The hub's web UI: server-rendered pages (Jinja2, htmx for partial updates, Leaflet for maps;
all vendored under ``static/``, no build step), in Chinese and English, times in Asia/Shanghai.

Pages read through the same services as the API and the browser's own calls go to the API with
the session cookie (``hub.api.deps``), so the UI can do nothing the API would refuse.
"""
