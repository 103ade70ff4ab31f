// Log interaction form: focus the first useful field, Ctrl/Cmd+Enter submits.
(function () {
  "use strict";

  function focusFirst() {
    var partner = document.getElementById("partner_id");
    if (partner && partner.dataset.autofocus === "true") {
      if (partner.tomselect) { partner.tomselect.focus(); } else { partner.focus(); }
      return;
    }
    var invalid = document.querySelector("form[data-ctrl-enter-submit] .is-invalid");
    var target = invalid || document.getElementById("kind");
    if (target) { target.focus(); }
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) { return; }
    var form = event.target && event.target.closest && event.target.closest("form[data-ctrl-enter-submit]");
    if (!form) { return; }
    event.preventDefault();
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  });

  // app.js enhances selects on DOMContentLoaded first; then focus.
  document.addEventListener("DOMContentLoaded", function () { window.setTimeout(focusFirst, 0); });
})();
