// The alerts inbox, live: rows change as others acknowledge or resolve, new alerts appear.
"use strict";
(function () {
  const cfg = ehub.config("alerts-config");
  const msgs = cfg.messages || {};
  const table = document.getElementById("alerts");
  const tab = table.dataset.state;
  const fits = (state) => tab === state || (tab === "open" && state !== "resolved");

  async function refreshRow(id, event) {
    const existing = document.getElementById("alert-" + id);
    if (!existing && !(event === "opened" && tab === "open")) return;
    const html = await ehub.api("/ui/alerts/" + id + "/row", { headers: { Accept: "text/html" } });
    const tmp = document.createElement("tbody");
    tmp.innerHTML = html.trim();
    const row = tmp.firstElementChild;
    if (existing) existing.replaceWith(row);
    else table.tBodies[0].prepend(row);
    htmx.process(row);
    if (!fits(row.dataset.state)) row.classList.add("gone");
    document.getElementById("alerts-empty")?.remove();
  }

  // What an alert is about: its device; a system alert has none (device_id null) but a
  // subject, which for a case deadline is case/{case_id}/{timer}: then the case.
  function about(n) {
    if (n.device_id) return n.device_id;
    const subject = n.subject || "";
    if (subject.startsWith("case/")) {
      return (msgs["alerts.case"] || "Case {id}").replace("{id}", subject.split("/")[1]);
    }
    return subject;
  }

  ehub.stream("/api/v1/alerts/stream", {
    alert: (n) => {
      refreshRow(n.alert_id, n.event).catch(() => {});
      if (n.event === "opened" || n.event === "escalated") {
        ehub.announce((msgs["alerts.new"] || "New alert") + ": " + [msgs["alert." + n.kind] || n.kind, about(n), n.detail].filter(Boolean).join(" "));
      }
    },
  }, document.getElementById("live-state"), msgs);
})();
