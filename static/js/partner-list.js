// The partner list: filters apply through htmx (see templates/partners/index.html).
(function () {
  "use strict";
  if (!window.htmx) { return; }
  // The page is not kept in htmx's history cache (hx-history="false": it names partners), so
  // Back reloads the previous address from the server instead of showing a stale copy.
  window.htmx.config.refreshOnHistoryMiss = true;
  // The pushed address names only the filters in use: ?sector=media, not ?q=&sector=media&….
  document.body.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt.closest || !elt.closest(".partner-filters")) { return; }
    var params = event.detail.parameters;
    Object.keys(params).forEach(function (name) {
      if (params[name] === "" || (name === "sort" && params[name] === "name")) { delete params[name]; }
    });
  });
})();
