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
  function baseMap(cfg, zoom, noTilesNote) {
    const box = document.getElementById("map");
    const map = L.map(box).setView(cfg.center, zoom);
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
    return map;
  }

  window.ehub = { lang, config, fmtTime, api, stream, announce, text, baseMap };
})();
