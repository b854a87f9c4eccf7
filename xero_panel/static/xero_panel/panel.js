/* xero-panel: the panel's only script, loaded from a file so that a strict Content Security
   Policy (script-src 'self', no 'unsafe-inline', no 'unsafe-eval') works: the plugin's
   templates carry no inline script and no on*= or hx-on attribute.

   1. htmx does not swap 4xx answers by default; the panel's are partials with a message
      (panel-error), so swap them for requests made from inside a panel or its container.
   2. Escape hides an open payments tooltip (WCAG 1.4.13: content on hover or focus can be
      dismissed); it shows again when the pointer or focus comes back. */
(function () {
  "use strict";
  document.addEventListener("htmx:beforeSwap", function (event) {
    var source = event.target;
    if (!source || !source.closest || !source.closest("[data-xero-panel]")) return;
    var status = event.detail.xhr.status;
    if (status >= 400 && status < 500) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = document.querySelectorAll("[data-xero-panel] .xp-payments:hover, [data-xero-panel] .xp-payments:focus-within");
    for (var i = 0; i < open.length; i++) open[i].classList.add("xp-dismissed");
  });
  function reset(event) {
    var box = event.target && event.target.closest && event.target.closest(".xp-payments");
    if (box) box.classList.remove("xp-dismissed");
  }
  document.addEventListener("focusin", reset);
  document.addEventListener("mouseover", function (event) {
    var box = event.target && event.target.closest && event.target.closest(".xp-payments");
    if (box && !box.contains(event.relatedTarget)) box.classList.remove("xp-dismissed");
  });
  document.addEventListener("focusout", reset);
})();
/* 3. Panels in markup made after page load (README: "Panels in markup made after page load"). HTML that htmx swaps in is
      processed by htmx itself. HTML the host's own JavaScript inserts (a modal, a list row
      opened in place) needs htmx.process(element) once it is in the document. And a panel
      can be built from JavaScript alone:
        xeroPanel.mount(element, "contact", "42")
      replaces element's content with the panel of contact 42 and loads it. The panel's URL
      prefix is taken from this script's own URL ({prefix}/static/xero_panel/panel.js). */
(function () {
  "use strict";
  var script = document.currentScript;
  var prefix = script && script.src ? script.src.replace(/\/static\/xero_panel\/panel\.js(?:[?#].*)?$/, "") : "";
  function mount(element, recordType, recordId) {
    if (!window.htmx) throw new Error("xeroPanel.mount: htmx is not loaded on this page");
    var id = String(recordId);
    var section = document.createElement("section");
    section.className = "xp-panel";
    section.setAttribute("data-xero-panel", "");
    section.setAttribute("data-record-type", recordType);
    section.setAttribute("data-record-id", id);
    section.setAttribute("aria-busy", "true");
    section.setAttribute("hx-get", prefix + "/panel/" + encodeURIComponent(recordType) + "/" + encodeURIComponent(id));
    section.setAttribute("hx-trigger", "load");
    section.setAttribute("hx-swap", "outerHTML");
    var loading = document.createElement("p");
    loading.className = "xp-loading";
    loading.textContent = "Loading Xero invoices\u2026";
    section.appendChild(loading);
    element.replaceChildren(section);
    window.htmx.process(section);
    return section;
  }
  window.xeroPanel = { mount: mount };
})();
