// Partner CRM: behaviour shared by every page. No inline scripts (CSP: script-src 'self').
(function () {
  "use strict";

  // htmx requests carry the CSRF token from the <meta> tag.
  document.body.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { event.detail.headers["X-CSRFToken"] = meta.content; }
  });

  // Keyboard shortcut: "L" opens the Log interaction form (not while typing).
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var target = event.target;
    var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (typing) { return; }
    if (event.key === "l" || event.key === "L") {
      var button = document.getElementById("log-interaction-btn");
      if (button) { event.preventDefault(); window.location.href = button.href; }
    }
  });

  // Searchable selects: <select data-searchable>.
  function enhance(root) {
    if (!window.TomSelect) { return; }
    root.querySelectorAll("select[data-searchable]:not(.tomselected)").forEach(function (el) {
      var options = { maxOptions: 500, allowEmptyOption: true };
      if (el.dataset.remote) {
        options.valueField = "id"; options.labelField = "name"; options.searchField = ["name"];
        options.load = function (query, callback) {
          fetch(el.dataset.remote + "?q=" + encodeURIComponent(query), { headers: { "Accept": "application/json" } })
            .then(function (r) { return r.json(); }).then(function (j) { callback(j.items || []); })
            .catch(function () { callback(); });
        };
      }
      new TomSelect(el, options);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.body.addEventListener("htmx:afterSwap", function (event) { enhance(event.target); });

  // Confirmation for buttons with data-confirm.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });
})();
