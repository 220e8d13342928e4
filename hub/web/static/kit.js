// The kit forms: a barcode/QR scanner types into the scan field and presses Enter; the id is
// added to the form's device list instead of submitting. Where the browser has a
// BarcodeDetector (Chrome on Android), the phone's camera can scan too.
"use strict";
(function () {
  function addTo(listId, value) {
    const list = document.getElementById(listId);
    const v = value.trim();
    if (!list || !v) return;
    const have = list.value.split(/[\s,，;；]+/).filter(Boolean);
    if (!have.includes(v)) list.value = have.concat([v]).join("\n");
    list.dispatchEvent(new Event("change"));
  }
  document.querySelectorAll("input.scan[data-into]").forEach((input) => {
    input.addEventListener("keydown", (ev) => {
      if (ev.key !== "Enter") return;
      ev.preventDefault();
      addTo(input.dataset.into, input.value);
      input.value = "";
    });
  });
  // The camera, where the browser can read codes itself (no library needed).
  if ("BarcodeDetector" in window && navigator.mediaDevices) {
    document.querySelectorAll("button.camera-scan").forEach((btn) => {
      btn.hidden = false;
      btn.addEventListener("click", async () => {
        const video = document.createElement("video");
        video.setAttribute("playsinline", "");
        btn.after(video);
        const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
        video.srcObject = stream;
        await video.play();
        const detector = new window.BarcodeDetector();
        const stop = () => { stream.getTracks().forEach((t) => t.stop()); video.remove(); };
        const tick = async () => {
          const codes = await detector.detect(video).catch(() => []);
          if (codes.length) { addTo(btn.dataset.into, codes[0].rawValue); stop(); return; }
          requestAnimationFrame(tick);
        };
        tick();
      });
    });
  }
  // After a form's action succeeded: clear it and put the cursor back in its first field,
  // ready for the next scan. (A refusal keeps what was typed, to be corrected.)
  document.body.addEventListener("htmx:afterRequest", (ev) => {
    const form = ev.detail.elt.closest && ev.detail.elt.closest("form[data-reset-on-success]");
    if (!form || !ev.detail.successful) return;
    const refused = ev.detail.target && ev.detail.target.querySelector(".kit-result.bad");
    if (refused) return;
    form.reset();
    const first = form.querySelector("input:not([type=hidden]), select");
    if (first) first.focus();
  });
})();
