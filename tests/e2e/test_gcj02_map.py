"""GCJ-02 tiles (AutoNavi, Tencent): with EHUB_HUB_MAP_TILES_GCJ02 the pages' maps convert
WGS-84 to GCJ-02 on the way to the screen, checked against published point pairs (the test
vectors of the eviltransform library), and convert clicks back; without it, plain Web Mercator."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from tests.helpers import RunningHub

pytestmark = [pytest.mark.integration, pytest.mark.browser]

# (WGS-84 lat, lon) -> (GCJ-02 lat, lon): Shanghai, Shenzhen, Beijing.
PAIRS = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),
]


def test_markers_and_clicks_are_converted_for_gcj02_tiles(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page]
) -> None:
    hub = start_hub(hub_map_tiles_gcj02=True)
    page = login(hub, "a-dispatcher", "zh-CN", "/map")
    page.wait_for_function("() => window.ehubMap && window.ehubMap.map")
    for wgs, gcj in PAIRS:
        got = page.evaluate("([a, b]) => ehub.gcj02.wgs2gcj(a, b)", list(wgs))
        assert got == pytest.approx(list(gcj), abs=1e-6)  # about 0.1 m
        back = page.evaluate("([a, b]) => ehub.gcj02.gcj2wgs(a, b)", list(gcj))
        assert back == pytest.approx(list(wgs), abs=1e-6)
        # A marker placed at the WGS-84 fix lands where the GCJ-02 tiles draw that place;
        # a click there reads back the WGS-84 fix.
        drawn, tile, clicked = page.evaluate(
            "([w, g]) => { const crs = window.ehubMap.map.options.crs;"
            " const p = crs.projection.project(L.latLng(w[0], w[1]));"
            " const q = L.Projection.SphericalMercator.project(L.latLng(g[0], g[1]));"
            " const c = crs.projection.unproject(q);"
            " return [[p.x, p.y], [q.x, q.y], [c.lat, c.lng]]; }",
            [list(wgs), list(gcj)],
        )
        assert drawn == pytest.approx(tile, abs=0.5)  # metres in Web Mercator
        assert clicked == pytest.approx(list(wgs), abs=1e-6)
    # Outside China the datums coincide: Tokyo is left as it is.
    assert page.evaluate("() => ehub.gcj02.wgs2gcj(35.6812, 139.7671)") == [35.6812, 139.7671]
    assert page.evaluate("() => window.ehubMap.map.options.crs.code") == "EPSG:3857-GCJ02"


def test_plain_web_mercator_by_default(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page]
) -> None:
    hub = start_hub()
    page = login(hub, "a-dispatcher", "zh-CN", "/map")
    page.wait_for_function("() => window.ehubMap && window.ehubMap.map")
    assert page.evaluate("() => window.ehubMap.map.options.crs.code") == "EPSG:3857"
