// Partner form: show the UN M49 region derived from the chosen country.
(function () {
  "use strict";
  var out = document.getElementById("derived-region");
  var select = document.getElementById("country");
  if (!out || !select) { return; }
  var regions = JSON.parse(out.dataset.regions || "{}");
  select.addEventListener("change", function () { out.textContent = regions[select.value] || "—"; });
})();
