// The dispatch console: incidents, the hub's proposals, orders and their progress, via the API.
"use strict";
(function () {
  const cfg = ehub.config("dispatch-config");
  const msgs = cfg.messages || {};
  const t = (k) => msgs[k] || k;
  const map = ehub.baseMap(cfg, 13);
  const incidentLayer = L.layerGroup().addTo(map);
  const unitLayer = L.layerGroup().addTo(map);
  const errorBox = document.getElementById("dispatch-error");
  let place = null, placeMarker = null, selected = null;

  function fail(e) { errorBox.textContent = e.message || String(e); errorBox.hidden = false; }
  function ok() { errorBox.hidden = true; }
  function el(tag, text, attrs) {
    const n = document.createElement(tag);
    if (text !== undefined && text !== null) n.textContent = text;
    for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, v);
    return n;
  }
  const secs = (s) => (s === null || s === undefined ? "—" : Math.round(s) + " s");
  // A unit as people say it: the officer's name with their id, a vehicle by its id.
  const who = (id) => (id && cfg.staff && cfg.staff[id] ? cfg.staff[id] + " (" + id + ")" : id || "");
  const metres = (m) => (m >= 1000 ? (m / 1000).toFixed(1) + " km" : Math.round(m) + " m");

  map.on("click", (e) => {
    place = [Number(e.latlng.lat.toFixed(6)), Number(e.latlng.lng.toFixed(6))];
    if (!placeMarker) placeMarker = L.marker(place).addTo(map);
    placeMarker.setLatLng(place);
    document.getElementById("i-place").textContent = place[0] + ", " + place[1];
    // The incident belongs to the team whose street boundary holds the point (a city-level
    // dispatcher's list has every team): pick it, as the dispatcher would.
    const team = teamAt(place[0], place[1]);
    const select = document.getElementById("i-team");
    if (team && [...select.options].some((o) => o.value === team)) select.value = team;
  });

  function inside(zone, lat, lon) {
    if (zone.kind === "circle") return map.distance([lat, lon], [zone.lat, zone.lon]) <= zone.radius_m;
    let hit = false;
    const pts = zone.points;
    for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
      const [yi, xi] = pts[i], [yj, xj] = pts[j];
      if ((yi > lat) !== (yj > lat) && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) hit = !hit;
    }
    return hit;
  }
  function teamAt(lat, lon) {
    const s = (cfg.shapes || []).find((x) => x.kind === "street_boundary" && inside(x.zone, lat, lon));
    return s ? s.org_unit_id : null;
  }

  document.getElementById("incident-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.target.elements;
    if (!place) { fail(new Error(t("dispatch.pick_place"))); return; }
    try {
      const inc = await ehub.api("/api/v1/incidents", { method: "POST", json: {
        org_unit_id: f.org_unit_id.value, category: f.category.value,
        priority: Number(f.priority.value), description: f.description.value,
        address: f.address.value || null, lat: place[0], lon: place[1],
      } });
      ok();
      ev.target.reset();
      // Fold the form away once used: the incident, its proposals and orders need the room.
      document.getElementById("new-incident").open = false;
      await refresh();
      select(inc.id);
    } catch (e) { fail(e); }
  });

  async function refresh() {
    const lists = await Promise.all(["open", "dispatched"].map((s) =>
      ehub.api("/api/v1/incidents?state=" + s + "&limit=100")));
    const items = lists.flatMap((l) => l.items).sort((a, b) => a.priority - b.priority || b.id - a.id);
    const ul = document.getElementById("incidents");
    ul.innerHTML = "";
    incidentLayer.clearLayers();
    if (!items.length) ul.append(el("li", t("dispatch.none"), { class: "empty" }));
    for (const inc of items) {
      const li = el("li", null, { class: "prio-" + inc.priority + (inc.id === selected ? " selected" : ""), "data-id": inc.id });
      const b = el("button", "#" + inc.id + " · P" + inc.priority + " · " + inc.category + " · "
        + t("dispatch.incident." + inc.state) + " · " + t("dispatch.source." + (inc.source || "dispatcher")), { type: "button" });
      b.addEventListener("click", () => select(inc.id));
      li.append(b);
      ul.append(li);
      if (inc.lat !== null) {
        L.circleMarker([inc.lat, inc.lon], { radius: inc.priority === 1 ? 11 : 8, color: "#222", weight: 1,
          fillColor: inc.priority === 1 ? "#d7191c" : "#f28e2b", fillOpacity: 0.9, className: "incident incident-" + inc.id })
          .bindTooltip(ehub.text("#" + inc.id + " " + inc.category)).on("click", () => select(inc.id)).addTo(incidentLayer);
      }
    }
    if (selected !== null) await showIncident(false);
  }

  async function select(id) {
    selected = id;
    for (const li of document.querySelectorAll("#incidents li")) li.classList.toggle("selected", Number(li.dataset.id) === id);
    await showIncident(true);
  }

  async function showIncident(withProposals) {
    const box = document.getElementById("incident");
    let inc;
    try { inc = await ehub.api("/api/v1/incidents/" + selected); } catch (e) { fail(e); return; }
    box.hidden = false;
    document.getElementById("incident-title").textContent = "#" + inc.id + " " + inc.category;
    document.getElementById("incident-meta").textContent = [t("dispatch.incident." + inc.state),
      "P" + inc.priority, inc.address || "", ehub.fmtTime(inc.reported_at)].filter(Boolean).join(" · ");
    const live = inc.state === "open" || inc.state === "dispatched";
    document.getElementById("cancel-form").hidden = !live;
    renderOrders(inc.orders);
    if (withProposals) {
      unitLayer.clearLayers();
      const tbody = document.querySelector("#proposals tbody");
      tbody.innerHTML = "";
      const skipped = document.getElementById("skipped");
      skipped.innerHTML = "";
      if (!live) return;
      if (inc.lat !== null) map.setView([inc.lat, inc.lon], Math.max(map.getZoom(), 14));
      let prop;
      try { prop = await ehub.api("/api/v1/incidents/" + inc.id + "/proposals?k=5"); } catch (e) { fail(e); return; }
      for (const c of prop.proposed) {
        const tr = el("tr", null, { "data-unit": c.unit_id });
        tr.append(el("td", t("dispatch.kind." + c.kind) + " " + who(c.unit_id) + (c.staff_id && c.staff_id !== c.unit_id ? " · " + who(c.staff_id) : "")));
        tr.append(el("td", metres(c.distance_m)));
        const td = el("td");
        const b = el("button", t("dispatch.send"), { type: "button", class: "primary send" });
        b.addEventListener("click", () => send(inc.id, c));
        td.append(b); tr.append(td); tbody.append(tr);
        L.circleMarker([c.lat, c.lon], { radius: 7, color: "#222", weight: 1, fillColor: "#1a9641", fillOpacity: 0.9 })
          .bindTooltip(ehub.text(c.unit_id + " · " + metres(c.distance_m))).addTo(unitLayer);
      }
      for (const c of prop.skipped) {
        skipped.append(el("li", t("dispatch.kind." + c.kind) + " " + who(c.unit_id) + ": " + t("dispatch.reason." + c.reason) + " · " + metres(c.distance_m)));
      }
    }
  }

  function renderOrders(orders) {
    const tbody = document.querySelector("#orders tbody");
    tbody.innerHTML = "";
    for (const o of orders) {
      const tr = el("tr", null, { "data-order": o.id, "data-state": o.state, class: "order" });
      tr.append(el("td", t("dispatch.kind." + o.unit_kind) + " " + who(o.unit_id)));
      const st = el("td", t("dispatch.order." + o.state), { class: "order-state" });
      if (o.escalated_at && o.state === "sent") st.append(el("div", t("dispatch.escalated"), { class: "error" }));
      if (o.failure_reason) st.append(el("div", o.failure_reason, { class: "error" }));
      tr.append(st);
      tr.append(el("td", t("dispatch.to_ack") + " " + secs(o.to_acknowledge_s) + " · " + t("dispatch.to_arrive") + " " + secs(o.to_arrive_s)));
      const td = el("td");
      if (["sent", "acknowledged", "arrived"].includes(o.state)) {
        const form = el("form", null, { class: "inline" });
        const input = el("input", null, { name: "outcome", required: "", maxlength: "500", "aria-label": t("dispatch.outcome"), placeholder: t("dispatch.outcome") });
        form.append(input, el("button", t("dispatch.close"), { type: "submit" }));
        form.addEventListener("submit", async (ev) => {
          ev.preventDefault();
          try {
            await ehub.api("/api/v1/dispatch-orders/" + o.id + "/close", { method: "POST", json: { outcome: input.value } });
            ok(); await refresh();
          } catch (e) { fail(e); }
        });
        td.append(form);
      }
      tr.append(td);
      tbody.append(tr);
    }
  }

  async function send(incidentId, c) {
    try {
      await ehub.api("/api/v1/incidents/" + incidentId + "/dispatch", { method: "POST", json: {
        unit_kind: c.kind, unit_id: c.unit_id, staff_id: c.kind === "vehicle" ? c.staff_id : null,
      } });
      ok();
      await refresh();
      await showIncident(true);
      document.getElementById("orders").scrollIntoView({ block: "nearest" });
    } catch (e) { fail(e); }
  }

  document.getElementById("cancel-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await ehub.api("/api/v1/incidents/" + selected + "/cancel", { method: "POST", json: { reason: ev.target.elements.reason.value } });
      ok(); ev.target.reset(); await refresh(); await showIncident(true);
    } catch (e) { fail(e); }
  });

  // One click turns the incident into a case clue (hub/web/pages_cases.py -> store.clue_from_incident).
  const clueForm = document.getElementById("clue-form");
  if (clueForm) clueForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const r = await ehub.api("/ui/incidents/" + selected + "/clue", { method: "POST", json: { matter_code: ev.target.elements.matter_code.value } });
      location.href = "/cases/" + encodeURIComponent(r.case_id);
    } catch (e) { fail(e); }
  });

  refresh().catch(fail);
  setInterval(() => refresh().catch(() => {}), 2000);
  window.ehubDispatch = { select, refresh, map };
})();
