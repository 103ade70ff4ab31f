// Reports: show the custom date fields only when "Custom dates" is the chosen period.
(function () {
  "use strict";
  function toggle() {
    var period = document.querySelector("#report-filters select[name=period]");
    if (!period) { return; }
    var custom = period.value === "custom";
    document.querySelectorAll("#report-filters .custom-date").forEach(function (el) {
      el.classList.toggle("d-none", !custom);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var period = document.querySelector("#report-filters select[name=period]");
    if (period) { period.addEventListener("change", toggle); toggle(); }
  });
})();
