// The alerts inbox, live: rows change as others acknowledge or resolve, new alerts appear.
"use strict";
(function () {
  const cfg = ehub.config("alerts-config");
  const msgs = cfg.messages || {};
  const table = document.getElementById("alerts");
  const tab = table.dataset.state;
  const fits = (state) => tab === state || (tab === "open" && state !== "resolved");

  // The row as the page renders it; it is fetched also when only the announcement needs it,
  // because its detail is in the page's language (hub/web/alert_text.py, server side), and
  // the stream carries the rule's English.
  async function refreshRow(id, event, announcing) {
    const existing = document.getElementById("alert-" + id);
    const shown = existing || (event === "opened" && tab === "open");
    if (!shown && !announcing) return null;
    const html = await ehub.api("/ui/alerts/" + id + "/row", { headers: { Accept: "text/html" } });
    const tmp = document.createElement("tbody");
    tmp.innerHTML = html.trim();
    const row = tmp.firstElementChild;
    if (!shown) return row;
    if (existing) existing.replaceWith(row);
    else table.tBodies[0].prepend(row);
    htmx.process(row);
    if (!fits(row.dataset.state)) row.classList.add("gone");
    document.getElementById("alerts-empty")?.remove();
    return row;
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
    alert: async (n) => {
      const announcing = n.event === "opened" || n.event === "escalated";
      const row = await refreshRow(n.alert_id, n.event, announcing).catch(() => null);
      if (!announcing) return;
      // The translated detail from the row; without it the English only on an English page.
      const cell = row && row.querySelector(".alert-detail");
      const detail = cell ? cell.textContent.trim() : (document.documentElement.lang === "en" ? n.detail : "");
      ehub.announce((msgs["alerts.new"] || "New alert") + ": " + [msgs["alert." + n.kind] || n.kind, about(n), detail].filter(Boolean).join(" "));
    },
  }, document.getElementById("live-state"), msgs);
})();
