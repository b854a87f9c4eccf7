/* xero-panel: the panel's only script, loaded from a file so that a strict Content Security
   Policy (script-src 'self', no 'unsafe-inline', no 'unsafe-eval') works: the plugin's
   templates carry no inline script and no on*= or hx-on attribute.

   1. htmx does not swap 4xx answers by default; the panel's are partials with a message
      (panel-error), so swap them for requests made from inside a panel or its container.
   2. Escape hides an open payments tooltip (WCAG 1.4.13: content on hover or focus can be
      dismissed); it shows again when the pointer or focus comes back.
   3. Focus after a swap: back on the control that caused it (view, sort, age, totals, pin,
      Refresh, Clear), or on the first new row after Load more, or (Link, Unlink: the
      control is gone) on the matched contacts or the heading; after Refresh, "Updated just
      now" is announced in the panel's hidden status region (it is already on screen).
   4. Live updates: every 15 s while the tab is visible, one small request per open panel
      asks whether the cache changed (204 when not); when it did, the panel is reloaded from
      the cache (never from Xero) and the changed rows carry data-changed for a few seconds.
   5. htmx writes an inline <style> for its request indicators, which a strict style-src
      'self' refuses: panel.css carries the same rules, and htmx is told to leave it out
      (set here when htmx is already loaded, else by an htmx-config meta element that htmx
      reads when the page is ready; a host's own htmx-config meta is left as it is).
   6. "Last updated 2 minutes ago": the panel's HTML is kept and served to every viewer, so
      it says when (time[data-ago] with its datetime, in UTC words for a page without
      script); this writes how long ago it was, in the panel's locale, in whole units
      chosen as Babel's format_timedelta chooses them, after each swap and every 15 s. */
(function () {
  "use strict";
  if (window.htmx) {
    window.htmx.config.includeIndicatorStyles = false;
  } else if (!document.querySelector('meta[name="htmx-config"]')) {
    var meta = document.createElement("meta");
    meta.name = "htmx-config";
    meta.content = '{"includeIndicatorStyles":false}';
    document.head.appendChild(meta);
  }
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

  var LIVE_EVERY = 15000;
  var CHANGED_FOR = 6000;
  var pending = null;

  function panelOf(elt) {
    return elt && elt.closest ? elt.closest("[data-xero-panel]") : null;
  }
  function keyOf(elt) {
    if (elt.id) return "#" + CSS.escape(elt.id);
    var names = ["data-testid", "data-view", "data-sort", "data-bucket", "data-currency"];
    var key = elt.tagName.toLowerCase();
    for (var i = 0; i < names.length; i++) {
      if (elt.hasAttribute(names[i])) key += "[" + names[i] + '="' + CSS.escape(elt.getAttribute(names[i])) + '"]';
    }
    var row = elt.closest("[data-testid=invoice-row]");
    return row ? rowSelector(row) + " " + key : key;
  }
  /* A row is known by its organisation and document (rows carry no id: a page repeats them). */
  function rowSelector(row) {
    return '[data-testid=invoice-row][data-organisation-id="' + CSS.escape(row.getAttribute("data-organisation-id")) +
      '"][data-invoice-id="' + CSS.escape(row.getAttribute("data-invoice-id")) + '"]';
  }
  function rowVersions(panel) {
    var out = {};
    var rows = panel ? panel.querySelectorAll("[data-testid=invoice-row]") : [];
    for (var i = 0; i < rows.length; i++) out[rowSelector(rows[i])] = rows[i].getAttribute("data-row-version");
    return out;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var panel = panelOf(elt);
    if (!panel || !panel.id) return;
    if (pending && pending.live && elt === panel) return;  // the live reload keeps its own
    if (!elt.matches("a, button, input, select")) return;  // polls and forms keep focus as it is
    pending = {
      panelId: panel.id,
      key: keyOf(elt),
      more: elt.getAttribute("data-testid") === "load-more",
      rows: panel.querySelectorAll("[data-testid=invoice-row]").length,
      refresh: elt.getAttribute("data-testid") === "refresh"
    };
  });

  document.addEventListener("htmx:afterSettle", function () {
    var done = pending;
    pending = null;
    if (!done) return;
    var panel = document.getElementById(done.panelId);
    if (!panel) return;
    if (done.live) markChanged(panel, done.before);
    var target = null;
    if (done.more) {
      var rows = panel.querySelectorAll("[data-testid=invoice-row]");
      var first = rows[done.rows];
      if (first) target = first.querySelector(".xp-cell-number a") || first.querySelector("button");
    } else if (done.key) {
      var active = document.activeElement;
      if (active && active !== document.body && active.isConnected && !done.live) return;
      if (done.live && !(done.hadFocus)) return;
      target = panel.querySelector(done.key) || (panel.matches(done.key) ? panel : null);
      // The control is gone (Link, Unlink): the panel's new state, not the page's body.
      if (!target && !done.live) target = landing(panel);
    }
    if (target) target.focus();
    if (done.refresh) {
      var updated = panel.querySelector("[data-updated=just-now]");
      var region = panel.querySelector(".xp-announce");
      if (updated && region) {
        window.setTimeout(function () { region.textContent = updated.textContent; }, 300);
      }
    }
  });

  /* Where focus lands when the control that caused a swap is not in the new panel: what
     the panel now says about its match, else its heading (focusable from script only). */
  function landing(panel) {
    var spot = panel.querySelector("[data-testid=matched-contacts]") || panel.querySelector(".xp-title");
    if (spot && !spot.hasAttribute("tabindex")) spot.setAttribute("tabindex", "-1");
    return spot;
  }

  function forget() { pending = null; }
  document.addEventListener("htmx:responseError", forget);
  document.addEventListener("htmx:sendError", forget);
  document.addEventListener("htmx:timeout", forget);

  function markChanged(panel, before) {
    var rows = panel.querySelectorAll("[data-testid=invoice-row]");
    var changed = [];
    for (var i = 0; i < rows.length; i++) {
      var was = before[rowSelector(rows[i])];
      if (was !== rows[i].getAttribute("data-row-version")) {
        rows[i].setAttribute("data-changed", "true");
        changed.push(rows[i]);
      }
    }
    if (changed.length) {
      window.setTimeout(function () {
        for (var j = 0; j < changed.length; j++) changed[j].removeAttribute("data-changed");
      }, CHANGED_FOR);
    }
  }

  function typing(panel) {
    var active = document.activeElement;
    return active && panel.contains(active) && active.tagName === "INPUT";
  }

  function checkPanel(panel) {
    var url = panel.getAttribute("data-version-url");
    var version = panel.getAttribute("data-version");
    if (!url || !version || panel.getAttribute("data-live-busy") || pending) return;
    panel.setAttribute("data-live-busy", "true");
    var sep = url.indexOf("?") < 0 ? "?" : "&";
    fetch(url + sep + "v=" + encodeURIComponent(version), {
      credentials: "same-origin", headers: { "HX-Request": "true" }, cache: "no-store"
    }).then(function (response) {
      panel.removeAttribute("data-live-busy");
      if (response.status !== 200 || !panel.isConnected || typing(panel) || pending) return;
      var active = document.activeElement;
      var hadFocus = active && panel.contains(active) && active !== panel;
      pending = {
        panelId: panel.id, live: true, before: rowVersions(panel),
        key: hadFocus ? keyOf(active) : null, hadFocus: hadFocus
      };
      htmx.ajax("GET", panel.getAttribute("data-live-url"), {
        source: panel, target: panel, swap: "outerHTML", headers: { "X-Xero-Panel-Live": "1" }
      });
    }, function () {
      panel.removeAttribute("data-live-busy");
    });
  }

  /* Babel's format_timedelta(add_direction=True): the largest unit of which there is at
     least 0.85, rounded half to even; never less than one second ago. */
  var UNITS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
    ["hour", 3600], ["minute", 60], ["second", 1]];
  function roundHalfEven(value) {
    var floor = Math.floor(value);
    var rest = value - floor;
    if (rest > 0.5) return floor + 1;
    if (rest < 0.5) return floor;
    return floor % 2 === 0 ? floor : floor + 1;
  }
  function ago(when, locale) {
    var seconds = Math.max(1, Math.floor((Date.now() - when) / 1000));
    for (var i = 0; i < UNITS.length; i++) {
      var value = seconds / UNITS[i][1];
      if (value >= 0.85 || i === UNITS.length - 1) {
        var whole = Math.max(1, roundHalfEven(value));
        try {
          return new Intl.RelativeTimeFormat(locale, { numeric: "always", style: "long" }).format(-whole, UNITS[i][0]);
        } catch (error) {
          return new Intl.RelativeTimeFormat("en", { numeric: "always", style: "long" }).format(-whole, UNITS[i][0]);
        }
      }
    }
    return "";
  }
  function writeTimes() {
    if (typeof Intl === "undefined" || !Intl.RelativeTimeFormat) return;
    var times = document.querySelectorAll("[data-xero-panel] time[data-ago]");
    for (var i = 0; i < times.length; i++) {
      var when = Date.parse(times[i].getAttribute("datetime"));
      if (!isNaN(when)) times[i].textContent = ago(when, times[i].getAttribute("data-locale") || "en");
    }
  }
  document.addEventListener("htmx:load", writeTimes);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", writeTimes);
  else writeTimes();

  var lastCheck = Date.now();
  function tick() {
    writeTimes();
    if (document.hidden || typeof htmx === "undefined") return;
    lastCheck = Date.now();
    var panels = document.querySelectorAll("[data-xero-panel][data-version]");
    for (var i = 0; i < panels.length; i++) checkPanel(panels[i]);
  }
  window.setInterval(tick, LIVE_EVERY);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && Date.now() - lastCheck >= LIVE_EVERY) tick();
  });
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
