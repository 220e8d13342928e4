// Track replay: fetch a track from the API, draw it with its stops, play it back.
"use strict";
(function () {
  const cfg = ehub.config("tracks-config");
  const msgs = cfg.messages || {};
  const t = (k, fmt) => { let s = msgs[k] || k; for (const [a, b] of Object.entries(fmt || {})) s = s.replace("{" + a + "}", b); return s; };
  const map = ehub.baseMap(cfg, 12);
  const form = document.getElementById("track-form");
  const layer = L.layerGroup().addTo(map);
  let points = [], marker = null, timer = null, query = "";

  // Default range: today so far, in Beijing time.
  const pad = (n) => String(n).padStart(2, "0");
  const shanghai = (d) => {
    const s = new Date(d.getTime() + 8 * 3600e3);
    return s.getUTCFullYear() + "-" + pad(s.getUTCMonth() + 1) + "-" + pad(s.getUTCDate()) + "T" + pad(s.getUTCHours()) + ":" + pad(s.getUTCMinutes());
  };
  const now = new Date();
  form.elements.to.value = form.elements.to.value || shanghai(now);
  form.elements.from.value = form.elements.from.value || shanghai(now).slice(0, 11) + "00:00";

  function showFor(kind) {
    for (const el of form.querySelectorAll("[data-for]")) el.hidden = el.dataset.for !== kind;
  }
  form.elements.kind.addEventListener("change", (e) => showFor(e.target.value));
  showFor(form.elements.kind.value);

  const hm = (s) => Math.floor(s / 3600) + " " + t("tracks.hours") + " " + Math.round((s % 3600) / 60) + " " + t("tracks.minutes");

  function place(i) {
    const p = points[i];
    if (!p) return;
    if (!marker) marker = L.circleMarker([p[1], p[2]], { radius: 8, color: "#222", fillColor: "#f28e2b", fillOpacity: 1, className: "replay-marker" }).addTo(layer);
    marker.setLatLng([p[1], p[2]]);
    document.getElementById("t-time").textContent = ehub.fmtTime(p[0]) + (p[3] === null ? "" : " · " + Math.round(p[3]) + " km/h");
    document.getElementById("t-pos").value = i;
  }

  function play() {
    const btn = document.getElementById("t-play");
    if (timer) { clearInterval(timer); timer = null; btn.textContent = t("tracks.play"); return; }
    btn.textContent = t("tracks.pause");
    const pos = document.getElementById("t-pos");
    let i = Number(pos.value);
    let clock = points[i] ? points[i][0] : 0;
    timer = setInterval(() => {
      clock += Number(document.getElementById("t-speed").value) * 0.1;  // replay seconds per tick
      while (i < points.length - 1 && points[i + 1][0] <= clock) i++;
      place(i);
      if (i >= points.length - 1) play();
    }, 100);
  }
  document.getElementById("t-play").addEventListener("click", play);
  document.getElementById("t-pos").addEventListener("input", (e) => place(Number(e.target.value)));

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const kind = form.elements.kind.value;
    const id = form.elements[kind].value;
    const err = document.getElementById("track-error");
    err.hidden = true;
    // The inputs are Beijing time: say so to the API.
    query = "from=" + encodeURIComponent(form.elements.from.value + ":00+08:00")
      + "&to=" + encodeURIComponent(form.elements.to.value + ":00+08:00");
    const url = "/api/v1/tracks/" + kind + "/" + encodeURIComponent(id);
    const summary = document.getElementById("track-summary");
    summary.textContent = t("tracks.loading");
    if (timer) play();
    layer.clearLayers(); marker = null; points = [];
    try {
      const tr = await ehub.api(url + "?" + query);
      points = tr.points.rows;
      summary.innerHTML = "";
      const dl = document.createElement("dl");
      dl.id = "track-facts";
      const facts = [
        ["tracks.distance", (tr.distance_m / 1000).toFixed(2) + " km"],
        ["tracks.duration", hm(tr.duration_s)],
        ["tracks.moving", hm(tr.moving_s)],
        ["tracks.stops", String(tr.stops.length)],
        ["tracks.points", String(tr.fixes)],
        ["tracks.ignored", String(tr.jumps_ignored + tr.skewed_ignored + tr.repeats_ignored)],
      ];
      for (const [k, v] of facts) {
        const dt = document.createElement("dt"); dt.textContent = t(k);
        const dd = document.createElement("dd"); dd.textContent = v; dd.dataset.key = k;
        dl.append(dt, dd);
      }
      summary.append(dl);
      summary.classList.add("detail");
      const player = document.getElementById("track-player");
      const exports = document.getElementById("track-exports");
      if (!points.length) {
        summary.append(t("tracks.empty"));
        player.hidden = exports.hidden = true;
        return;
      }
      const line = L.polyline(points.map((p) => [p[1], p[2]]), { color: "#0b5cad", weight: 4, className: "track-line" }).addTo(layer);
      for (const s of tr.stops) {
        L.circleMarker([s.lat, s.lon], { radius: 6, color: "#9a6700", fillColor: "#ffd166", fillOpacity: 1, className: "track-stop" })
          .bindTooltip(ehub.text(t("tracks.stop_at", { min: Math.round(s.duration_s / 60) }) + " · " + ehub.fmtTime(s.start)))
          .addTo(layer);
      }
      map.fitBounds(line.getBounds(), { padding: [20, 20] });
      const pos = document.getElementById("t-pos");
      pos.max = points.length - 1;
      player.hidden = exports.hidden = false;
      for (const a of exports.querySelectorAll("a")) a.href = url + "?" + query + "&format=" + a.dataset.format;
      place(0);
    } catch (e) {
      summary.textContent = "";
      err.textContent = e.message;
      err.hidden = false;
    }
  });

  window.ehubReplay = { points: () => points, position: () => marker && marker.getLatLng() };
})();
