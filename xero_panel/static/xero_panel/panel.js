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
