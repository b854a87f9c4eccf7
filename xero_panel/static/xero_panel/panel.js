/* xero-panel: small progressive enhancement only. Escape hides an open payments tooltip
   (WCAG 1.4.13: content on hover or focus can be dismissed); it shows again when the
   pointer or focus comes back. */
(function () {
  "use strict";
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
