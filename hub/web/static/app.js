// Shared helpers of the hub's pages. No build step: plain ES2020, loaded with `defer`.
"use strict";
(function () {
  const lang = document.documentElement.lang || "zh-CN";
  const timeFmt = new Intl.DateTimeFormat(lang, {
    timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });

  function config(id) {
    const el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : {};
  }

  // Times are shown as the teams read them: Asia/Shanghai, whatever the browser's zone.
  function fmtTime(t) {
    if (t === null || t === undefined || t === "") return "—";
    const d = typeof t === "number" ? new Date(t * 1000) : new Date(t);
    return timeFmt.format(d);
  }

  // Calls to the API ride on the session cookie; the header proves they come from our pages.
  async function api(url, options = {}) {
    const headers = Object.assign({ "X-Requested-With": "ehub", Accept: "application/json" },
      options.headers || {});
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(options.json);
    }
    const r = await fetch(url, Object.assign({}, options, { headers, credentials: "same-origin" }));
    if (r.status === 401) { location.href = "/login?expired=1&next=" + encodeURIComponent(location.pathname); }
    const body = r.headers.get("content-type")?.includes("json") ? await r.json() : await r.text();
    if (!r.ok) {
      const err = new Error((body && body.detail) || r.statusText);
      err.status = r.status; err.body = body;
      throw err;
    }
    return body;
  }

  // A server-sent event stream that survives drops: EventSource reconnects by itself; a
  // "resync" from the hub (we fell behind) means start over with a fresh snapshot.
  function stream(url, handlers, stateEl, msgs) {
    let es;
    const say = (key, cls) => {
      if (!stateEl) return;
      stateEl.textContent = msgs[key] || key;
      stateEl.className = "badge " + cls;
    };
    function open() {
      es = new EventSource(url);
      es.onopen = () => say("common.connected", "ok");
      es.onerror = () => say("common.disconnected", "warn");
      for (const [name, fn] of Object.entries(handlers)) {
        es.addEventListener(name, (ev) => fn(JSON.parse(ev.data)));
      }
      es.addEventListener("resync", () => { es.close(); open(); });
      es.addEventListener("expired", () => {
        es.close();
        location.href = "/login?expired=1&next=" + encodeURIComponent(location.pathname);
      });
    }
    open();
    return { close: () => es.close() };
  }

  function announce(text) {
    const el = document.getElementById("announce");
    if (el) { el.textContent = ""; setTimeout(() => { el.textContent = text; }, 50); }
  }

  // Text for Leaflet tooltips and popups, which take a string as HTML: never pass them data.
  function text(s) {
    const span = document.createElement("span");
    span.textContent = s;
    return span;
  }

  // A Leaflet map in #map with the page config's base tiles (cfg from `map_config` on the
  // server). Without tiles, or when they fail to load, the box gets `no-tiles` (a plain grid);
  // `noTilesNote`, if given, is also shown on the map when none are configured.
  // GCJ-02 (GB/T "offset" datum of Chinese tile providers): the published transform from
  // WGS-84, and its inverse by fixed-point iteration (to about 1e-7 degrees). Outside China
  // the two datums coincide.
  const gcj02 = (function () {
    const A = 6378245.0, EE = 0.00669342162296594323, PI = Math.PI;
    const outside = (lat, lon) => lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
    function tLat(x, y) {
      let r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
      r += (20 * Math.sin(6 * x * PI) + 20 * Math.sin(2 * x * PI)) * 2 / 3;
      r += (20 * Math.sin(y * PI) + 40 * Math.sin(y / 3 * PI)) * 2 / 3;
      r += (160 * Math.sin(y / 12 * PI) + 320 * Math.sin(y * PI / 30)) * 2 / 3;
      return r;
    }
    function tLon(x, y) {
      let r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
      r += (20 * Math.sin(6 * x * PI) + 20 * Math.sin(2 * x * PI)) * 2 / 3;
      r += (20 * Math.sin(x * PI) + 40 * Math.sin(x / 3 * PI)) * 2 / 3;
      r += (150 * Math.sin(x / 12 * PI) + 300 * Math.sin(x / 30 * PI)) * 2 / 3;
      return r;
    }
    function wgs2gcj(lat, lon) {
      if (outside(lat, lon)) return [lat, lon];
      const rad = lat / 180 * PI;
      const m = 1 - EE * Math.sin(rad) * Math.sin(rad), sm = Math.sqrt(m);
      const dLat = (tLat(lon - 105, lat - 35) * 180) / ((A * (1 - EE)) / (m * sm) * PI);
      const dLon = (tLon(lon - 105, lat - 35) * 180) / (A / sm * Math.cos(rad) * PI);
      return [lat + dLat, lon + dLon];
    }
    function gcj2wgs(lat, lon) {
      let w = [lat, lon];
      for (let i = 0; i < 30; i++) {
        const g = wgs2gcj(w[0], w[1]);
        const d = [lat - g[0], lon - g[1]];
        w = [w[0] + d[0], w[1] + d[1]];
        if (Math.abs(d[0]) < 1e-9 && Math.abs(d[1]) < 1e-9) break;
      }
      return w;
    }
    return { wgs2gcj, gcj2wgs };
  })();

  // A map whose tiles are GCJ-02 still takes WGS-84 everywhere (markers, fitBounds, clicks):
  // the conversion lives in its projection, so no page has to remember it.
  function gcjCrs() {
    const merc = L.Projection.SphericalMercator;
    const projection = {
      project: (ll) => { const g = gcj02.wgs2gcj(ll.lat, ll.lng); return merc.project(L.latLng(g[0], g[1])); },
      unproject: (pt) => { const g = merc.unproject(pt); const w = gcj02.gcj2wgs(g.lat, g.lng); return L.latLng(w[0], w[1]); },
      bounds: merc.bounds,
    };
    return L.extend({}, L.CRS.EPSG3857, { code: "EPSG:3857-GCJ02", projection });
  }

  function baseMap(cfg, zoom, noTilesNote) {
    const box = document.getElementById("map");
    const map = L.map(box, cfg.gcj02 ? { crs: gcjCrs() } : {}).setView(cfg.center, zoom);
    if (cfg.tiles) {
      const layer = L.tileLayer(cfg.tiles, { attribution: cfg.attribution, maxZoom: 19 });
      layer.on("tileerror", () => box.classList.add("no-tiles"));
      layer.addTo(map);
    } else {
      box.classList.add("no-tiles");
      if (noTilesNote) {
        const note = L.control({ position: "bottomleft" });
        note.onAdd = () => { const d = L.DomUtil.create("div", "map-note"); d.textContent = noTilesNote; return d; };
        note.addTo(map);
      }
    }
    outlines(map, cfg.shapes || []);
    return map;
  }

  // What the hub knows of the ground, drawn as dashed outlines with their names: street-team
  // boundaries, today's patrol zones, geofences. With no tiles (offline) they are the map.
  function outlines(map, shapes) {
    const layer = L.layerGroup().addTo(map);
    const bounds = [];
    for (const s of shapes) {
      const style = { color: "#555", weight: 1.5, dashArray: "6 4", fillOpacity: 0.05,
        className: "known-zone zone-" + (s.kind || "custom"), interactive: false };
      const z = s.zone;
      const shape = z.kind === "circle" ? L.circle([z.lat, z.lon], Object.assign({ radius: z.radius_m }, style))
        : L.polygon(z.points, style);
      shape.bindTooltip(text(s.name), { permanent: true, direction: "center", className: "zone-label" });
      shape.addTo(layer);
      bounds.push(shape.getBounds());
    }
    map.ehubOutlines = bounds;
    return bounds;
  }

  // A map page fills the screen below the header, whatever the header's height (its nav wraps
  // for roles with many pages): --above is the page's top plus main's bottom padding.
  function fitMapPage() {
    const box = document.querySelector(".map-page");
    if (!box) return;
    const top = box.getBoundingClientRect().top + window.scrollY;
    const pad = parseFloat(getComputedStyle(box.parentElement).paddingBottom) || 0;
    document.documentElement.style.setProperty("--above", Math.ceil(top + pad + 1) + "px");
  }
  fitMapPage();
  window.addEventListener("resize", fitMapPage);

  window.ehub = { lang, config, fmtTime, api, stream, announce, text, baseMap, gcj02 };
})();
