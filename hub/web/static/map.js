// The live map (一张图): every device in reach, pushed by the hub as it moves.
"use strict";
(function () {
  const cfg = ehub.config("map-config");
  const msgs = cfg.messages || {};
  const t = (k) => msgs[k] || k;
  const COL = {};  // column name -> index, from the snapshot
  const rows = new Map();  // device_id -> row array
  const markers = new Map();  // device_id -> Leaflet marker
  const dispatched = new Set();  // staff or vehicle ids on an open order (set by dispatch.js)
  const sos = new Set();  // device ids with an open SOS incident
  const filter = { team: "", kind: "" };

  // No base map configured (or reachable): positions on a plain grid still tell the story.
  const map = ehub.baseMap(cfg, 12, t("map.no_tiles"));

  const get = (row, col) => row[COL[col]];

  function statusOf(row) {
    const id = get(row, "device_id");
    if (sos.has(id) || get(row, "last_event") === "sos") return "sos";
    const presence = get(row, "presence");
    if (presence === "offline" || presence === "unknown") return "offline";
    const who = get(row, "holder_staff_id") || get(row, "vehicle_id");
    if (who && dispatched.has(who)) return "dispatched";
    return who ? "patrol" : "idle";
  }

  const COLOURS = { sos: "#d7191c", dispatched: "#f28e2b", patrol: "#1a9641", offline: "#8c8c8c", idle: "#2b83ba" };

  function visible(row) {
    return (!filter.team || get(row, "org_unit_id") === filter.team)
      && (!filter.kind || get(row, "device_type") === filter.kind)
      && get(row, "lat") !== null && get(row, "lon") !== null;
  }

  function draw(row) {
    const id = get(row, "device_id");
    let m = markers.get(id);
    if (!visible(row)) {
      if (m) { m.remove(); markers.delete(id); }
      return;
    }
    const status = statusOf(row);
    const style = { radius: status === "sos" ? 10 : 7, color: "#222", weight: 1,
      fillColor: COLOURS[status], fillOpacity: 0.9, className: "dev dev-" + id + " s-" + status };
    const at = [get(row, "lat"), get(row, "lon")];
    if (!m) {
      m = L.circleMarker(at, style).addTo(map);
      m.on("click", () => detail(id));
      m.bindTooltip(ehub.text(id));
      markers.set(id, m);
    } else {
      m.setLatLng(at);
      m.setStyle(style);
      const el = m.getElement();
      if (el) el.setAttribute("class", "leaflet-interactive " + style.className);
    }
  }

  // Devices held by people have no position for roles that may not see where people are:
  // say how many, rather than let their markers silently vanish.
  function count() {
    document.getElementById("map-count").textContent = markers.size;
    const note = document.getElementById("map-hidden");
    if (!note || !cfg.redacted) return;
    let hidden = 0;
    for (const row of rows.values()) {
      if (get(row, "holder_staff_id") && get(row, "lat") === null
        && (!filter.team || get(row, "org_unit_id") === filter.team)
        && (!filter.kind || get(row, "device_type") === filter.kind)) hidden++;
    }
    note.textContent = t("map.hidden_for_role").replace("{n}", hidden);
    note.hidden = hidden === 0;
  }

  function take(list) { for (const row of list) { rows.set(row[0], row); draw(row); } count(); }

  async function detail(id) {
    const row = rows.get(id);
    if (!row) return;
    const box = document.getElementById("map-detail");
    const battery = get(row, "battery_pct");
    const lines = [
      ["common.device", id],
      ["common.kind", t("kind." + get(row, "device_type"))],
      ["common.status", t("presence." + get(row, "presence"))],
      ["common.battery", battery === null ? "—" : battery + "%"],
      ["common.last_seen", ehub.fmtTime(get(row, "last_seen"))],
      ["common.team", cfg.units[get(row, "org_unit_id")] || get(row, "org_unit_id")],
    ];
    const staff = get(row, "holder_staff_id");
    const vehicle = get(row, "vehicle_id");
    const render = (extra) => {
      box.innerHTML = "";
      const dl = document.createElement("dl");
      for (const [k, v] of lines.concat(extra)) {
        const dt = document.createElement("dt"); dt.textContent = t(k);
        const dd = document.createElement("dd"); dd.textContent = v;
        dl.append(dt, dd);
      }
      box.append(dl);
    };
    render([]);
    const extra = [];
    try {
      if (staff) {
        const s = await ehub.api("/api/v1/staff/" + encodeURIComponent(staff));
        extra.push(["map.holder", s.name + " (" + s.badge_no + ")"]);
      }
      if (vehicle) {
        const v = await ehub.api("/api/v1/vehicles/" + encodeURIComponent(vehicle));
        extra.push(["common.vehicle", v.plate]);
      }
    } catch (e) { extra.push(["map.holder", staff || vehicle || t("common.none")]); }
    render(extra);
  }

  document.getElementById("map-filter").addEventListener("change", (ev) => {
    filter[ev.target.name] = ev.target.value;
    for (const row of rows.values()) draw(row);
    count();
  });

  ehub.stream("/api/v1/live/stream", {
    snapshot: (doc) => {
      doc.columns.forEach((c, i) => { COL[c] = i; });
      for (const m of markers.values()) m.remove();
      markers.clear(); rows.clear();
      take(doc.rows);
      const placed = [...markers.values()].map((m) => m.getLatLng());
      if (placed.length) map.fitBounds(L.latLngBounds(placed), { maxZoom: 15, padding: [20, 20] });
    },
    update: (doc) => take(doc.rows),
    remove: (doc) => {
      for (const id of doc.ids) {
        rows.delete(id);
        const m = markers.get(id);
        if (m) { m.remove(); markers.delete(id); }
      }
      count();
    },
  }, document.getElementById("live-state"), msgs);

  // Who is on an order (orange) and which devices raised an SOS still open (red): from the
  // dispatch API every few seconds.
  async function overlays() {
    const orders = await Promise.all(["sent", "acknowledged", "arrived"].map((s) =>
      ehub.api("/api/v1/dispatch-orders?state=" + s + "&limit=500")));
    dispatched.clear();
    for (const o of orders.flatMap((p) => p.items)) {
      dispatched.add(o.staff_id);
      if (o.vehicle_id) dispatched.add(o.vehicle_id);
    }
    const incidents = await Promise.all(["open", "dispatched"].map((s) =>
      ehub.api("/api/v1/incidents?state=" + s + "&limit=500")));
    sos.clear();
    for (const i of incidents.flatMap((p) => p.items)) {
      if (i.source === "sos" && i.device_id) sos.add(i.device_id);
    }
    for (const row of rows.values()) draw(row);
  }
  // Only for roles that may read them (cfg.overlays): a call bound to be refused is noise in
  // the console and in the hub's log.
  if (cfg.overlays) {
    const overlayTimer = setInterval(() => overlays().catch((e) => {
      if (e.status === 403) clearInterval(overlayTimer);
    }), 3000);
  }

  // For the dispatch overlay and for tests: read-only views and the two status sets.
  window.ehubMap = {
    map, rows, markers, dispatched, sos,
    position: (id) => { const r = rows.get(id); return r ? [get(r, "lat"), get(r, "lon")] : null; },
    status: (id) => { const r = rows.get(id); return r ? statusOf(r) : null; },
    redraw: () => { for (const row of rows.values()) draw(row); },
  };
})();
