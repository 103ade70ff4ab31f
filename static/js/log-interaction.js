// Log / edit interaction form: focus the first useful field, Ctrl/Cmd+Enter submits,
// Alt+F opens the follow-up part, long texts say how much room is left (never cut silently).
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

  // Alt+F (event.code: the F key whatever the layout or the Option-key character on a Mac)
  // opens "Add a follow-up" and puts the cursor in its title.
  document.addEventListener("keydown", function (event) {
    if (!event.altKey || event.ctrlKey || event.metaKey || event.code !== "KeyF") { return; }
    var details = document.getElementById("follow-up");
    if (!details) { return; }
    event.preventDefault();
    details.open = true;
    var title = document.getElementById("follow_up_title");
    if (title) { title.focus(); }
  });

  // textarea[data-limit]: from 90 % of the limit, say how much room is left; a paste that
  // the browser's maxlength cuts short says so instead of losing the end silently.
  function watchLimit(area) {
    var limit = parseInt(area.dataset.limit, 10);
    if (!limit) { return; }
    var note = document.createElement("div");
    note.className = "form-text";
    note.id = area.id + "-room";
    note.setAttribute("aria-live", "polite");
    area.insertAdjacentElement("afterend", note);
    var number = new Intl.NumberFormat();
    var cut = 0;
    function update() {
      var left = limit - area.value.length;
      if (cut > 0) {
        note.textContent = "The pasted text was " + number.format(cut) + " characters too long: its end was not added (at most " + number.format(limit) + ").";
        note.className = "form-text text-danger";
      } else if (left <= limit / 10) {
        note.textContent = number.format(left) + " characters left.";
        note.className = "form-text";
      } else {
        note.textContent = "";
      }
    }
    area.addEventListener("paste", function (event) {
      var pasted = (event.clipboardData && event.clipboardData.getData("text")) || "";
      var kept = area.value.length - (area.selectionEnd - area.selectionStart);
      cut = Math.max(0, kept + pasted.replace(/\r\n/g, "\n").length - limit);
      window.setTimeout(update, 0);
    });
    area.addEventListener("input", function (event) {
      if (event.inputType !== "insertFromPaste") { cut = 0; }
      update();
    });
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-ctrl-enter-submit] textarea[data-limit]").forEach(watchLimit);
    // app.js enhances selects on DOMContentLoaded first; then focus.
    window.setTimeout(focusFirst, 0);
  });
})();
