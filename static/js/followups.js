// My follow-ups: the Undo offered after "Done" stays a few seconds (data-undo-seconds), and
// keyboard focus is not lost when htmx replaces the row whose button had it.
(function () {
  "use strict";

  function undoForms(root) {
    var found = [];
    if (root.matches && root.matches("[data-undo-seconds]")) { found.push(root); }
    if (root.querySelectorAll) {
      root.querySelectorAll("[data-undo-seconds]").forEach(function (el) { found.push(el); });
    }
    return found;
  }

  document.body.addEventListener("htmx:load", function (event) {
    undoForms(event.detail.elt).forEach(function (form) {
      if (form.dataset.armed) { return; }
      form.dataset.armed = "1";
      var seconds = parseInt(form.dataset.undoSeconds, 10) || 10;
      window.setTimeout(function () {
        if (!form.isConnected) { return; }
        var row = form.closest(".follow-up-row");
        var hadFocus = form.contains(document.activeElement);
        form.remove();
        if (hadFocus && row) { row.setAttribute("tabindex", "-1"); row.focus(); }
      }, seconds * 1000);
    });
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var row = event.detail.target;
    if (!row || !row.isConnected || !row.classList || !row.classList.contains("follow-up-row")) { return; }
    if (document.activeElement && document.activeElement !== document.body) { return; }
    var next = row.querySelector("button");
    if (next) { next.focus(); } else { row.setAttribute("tabindex", "-1"); row.focus(); }
  });
})();
