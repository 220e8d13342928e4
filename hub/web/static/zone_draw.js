// Draw a zone on the map by clicking: a circle (a click sets its centre, the radius field its
// size) or a polygon (each click adds a vertex). The zone goes into the form's hidden "zone"
// field as the API's JSON. Existing zones (cfg.shapes) are drawn behind as labelled outlines,
// so one can tell where a click lands with no base tiles.
"use strict";
(function () {
  const cfg = ehub.config("zone-config");
  const msgs = cfg.messages || {};
  const t = (k) => msgs[k] || k;
  const map = ehub.baseMap(cfg, 14, t("zone.no_tiles"));
  const out = document.getElementById("zone");
  const kind = document.getElementById("zone-kind");
  const radius = document.getElementById("zone-radius");
  const count = document.getElementById("zone-count");
  const drawn = L.layerGroup().addTo(map);
  let points = [];

  function shape(zone, style) {
    if (zone.kind === "circle") return L.circle([zone.lat, zone.lon], Object.assign({ radius: zone.radius_m }, style));
    return L.polygon(zone.points, style);
  }
  // ehub.baseMap drew the known zones (cfg.shapes) as labelled outlines: start over them.
  const bounds = map.ehubOutlines || [];
  if (bounds.length) map.fitBounds(bounds.reduce((a, b) => L.latLngBounds(a).extend(b)), { maxZoom: 15 });
  // A role that may not draw zones has the map and its outlines, no drawing controls.
  if (!out) { window.ehubZone = { map, zone: () => null }; return; }

  function zone() {
    if (kind.value === "circle") {
      if (!points.length) return null;
      return { kind: "circle", lat: points[0][0], lon: points[0][1], radius_m: Number(radius.value) || 0 };
    }
    return points.length >= 3 ? { kind: "polygon", points } : null;
  }
  function render() {
    drawn.clearLayers();
    radius.closest(".field").hidden = kind.value !== "circle";
    const z = zone();
    for (const p of points) L.circleMarker(p, { radius: 4, color: "#0b57d0", className: "vertex" }).addTo(drawn);
    if (z) shape(z, { color: "#0b57d0", weight: 2, className: "drawn-zone" }).addTo(drawn);
    else if (points.length > 1) L.polyline(points, { color: "#0b57d0", dashArray: "4 4" }).addTo(drawn);
    out.value = z ? JSON.stringify(z) : "";
    count.textContent = kind.value === "circle"
      ? (z ? t("zone.circle_set") : t("zone.click_centre"))
      : t("zone.vertices").replace("{n}", points.length);
  }
  map.on("click", (e) => {
    const p = [Number(e.latlng.lat.toFixed(6)), Number(e.latlng.lng.toFixed(6))];
    points = kind.value === "circle" ? [p] : points.concat([p]);
    render();
  });
  kind.addEventListener("change", () => { points = []; render(); });
  radius.addEventListener("input", render);
  document.getElementById("zone-clear").addEventListener("click", () => { points = []; render(); });
  document.getElementById("zone-undo").addEventListener("click", () => { points = points.slice(0, -1); render(); });
  render();
  window.ehubZone = { map, zone };
})();
