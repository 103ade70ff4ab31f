// The Code's criteria by status: a stacked bar per criterion (Chart.js, vendored), drawn the
// way the dashboard draws its charts. The numbers are in the canvas's data-chart attribute and
// in the table under it, so the chart is an extra, never the only way to read them.
(function () {
  "use strict";

  var STATUS_COLOURS = { not_started: "#adb5bd", in_progress: "#ffc107", met: "#198754" };

  function criteria(canvas) {
    var data = JSON.parse(canvas.dataset.chart);
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (s) {
          return { label: s.label, data: s.data, backgroundColor: STATUS_COLOURS[s.status] || "#999", stack: "all" };
        })
      },
      options: {
        maintainAspectRatio: false, animation: false, indexAxis: "y",
        scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true } },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.Chart) { return; }
    var c = document.getElementById("chart-criteria"); if (c) { criteria(c); }
  });
})();
