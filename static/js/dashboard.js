// Dashboard charts (Chart.js + chartjs-chart-geo, vendored). Data comes from the JSON
// endpoints named in each canvas's data-url; the page already holds the same numbers
// as tables, so the charts are an extra, never the only way to read them.
(function () {
  "use strict";

  var SECTOR_COLOURS = {
    law_enforcement: "#0d6efd", technology: "#6610f2", travel_tourism: "#20c997",
    government: "#fd7e14", intergovernmental: "#0dcaf0", civil_society: "#198754",
    faith_based: "#d63384", academia: "#6f42c1", media: "#ffc107", funder: "#dc3545",
    private_sector: "#6c757d"
  };
  var STAGE_COLOURS = ["#adb5bd", "#6ea8fe", "#3d8bfd", "#198754", "#ffc107", "#6c757d"];

  function getJSON(url) {
    return fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(url + ": " + r.status); } return r.json(); });
  }

  function monthly(canvas) {
    getJSON(canvas.dataset.url).then(function (data) {
      new Chart(canvas, {
        type: "bar",
        data: {
          labels: data.months,
          datasets: data.series.map(function (s) {
            return { label: s.label, data: s.data, backgroundColor: SECTOR_COLOURS[s.sector] || "#999", stack: "all" };
          })
        },
        options: {
          maintainAspectRatio: false, animation: false,
          scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
          plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } }
        }
      });
    }).catch(function (e) { console.warn(e); });
  }

  function stages(canvas) {
    getJSON(canvas.dataset.url).then(function (data) {
      new Chart(canvas, {
        type: "bar",
        data: {
          labels: data.stages.map(function (s) { return s.label; }),
          datasets: [{ label: "Partners", data: data.stages.map(function (s) { return s.count; }),
                       backgroundColor: STAGE_COLOURS }]
        },
        options: {
          maintainAspectRatio: false, animation: false, indexAxis: "y",
          scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
          plugins: { legend: { display: false } }
        }
      });
    }).catch(function (e) { console.warn(e); });
  }

  // Each country's fill comes from the server (crm/lib/colourscale.py: grey for none, a
  // distinct blue per step from 1), as does the legend under the map, so the two always agree.
  function worldMap(canvas) {
    if (!window.ChartGeo) { return; }
    Promise.all([getJSON(canvas.dataset.world), getJSON(canvas.dataset.url)]).then(function (res) {
      var world = res[0], data = res[1];
      var byNumeric = {};
      data.countries.forEach(function (c) { if (c.numeric) { byNumeric[String(Number(c.numeric))] = c; } });
      var features = ChartGeo.topojson.feature(world, world.objects.countries).features
        .filter(function (f) { return f.properties.name !== "Antarctica"; });
      function info(feature) { return byNumeric[String(Number(feature.id))]; }
      function fill(feature) { var c = info(feature); return c ? c.colour : data.none_colour; }
      new Chart(canvas, {
        type: "choropleth",
        data: {
          labels: features.map(function (f) { var c = info(f); return c ? c.name : f.properties.name; }),
          datasets: [{
            label: "Partners",
            outline: features,
            data: features.map(function (f) { var c = info(f); return { feature: f, value: c ? c.count : 0 }; }),
            backgroundColor: features.map(fill),
            hoverBackgroundColor: features.map(fill),
            borderColor: "#ffffff", borderWidth: 0.6,
            hoverBorderColor: "#212529", hoverBorderWidth: 1.5
          }]
        },
        options: {
          maintainAspectRatio: false, animation: false, showOutline: true,
          plugins: {
            legend: { display: false },
            tooltip: { callbacks: { label: function (ctx) {
              var n = ctx.raw.value; return ctx.chart.data.labels[ctx.dataIndex] + ": " + n + (n === 1 ? " partner" : " partners");
            } } }
          },
          scales: {
            projection: { axis: "x", projection: "equalEarth" },
            color: { axis: "x", display: false }
          },
          onHover: function (event, elements) {
            var hit = elements.length && elements[0].element.feature && info(elements[0].element.feature);
            event.native.target.style.cursor = hit ? "pointer" : "default";
          },
          onClick: function (event, elements) {
            if (!elements.length) { return; }
            var c = info(elements[0].element.feature);
            if (c) { window.location.href = canvas.dataset.partnersUrl + "?country=" + encodeURIComponent(c.country); }
          }
        }
      });
    }).catch(function (e) { console.warn(e); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.Chart) { return; }
    var m = document.getElementById("chart-monthly"); if (m) { monthly(m); }
    var s = document.getElementById("chart-stages"); if (s) { stages(s); }
    var w = document.getElementById("chart-map"); if (w) { worldMap(w); }
  });
})();
