// Render the OpenAPI document with the vendored Redoc (no inline script: CSP).
(function () {
  "use strict";
  var el = document.getElementById("redoc");
  if (!el || typeof window.Redoc === "undefined") { return; }
  window.Redoc.init(el.getAttribute("data-spec-url"), {
    hideDownloadButton: false,
    expandResponses: "200,201",
    requiredPropsFirst: true
  }, el);
})();
