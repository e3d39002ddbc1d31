// The dashboard's trend charts (Chart.js, vendored from npm): the figure per week or month
// as a line, the target as a dashed line. The data is in each canvas's data-chart attribute.
(function () {
  "use strict";
  var print = document.getElementById("report-print");
  if (print) { print.addEventListener("click", function () { window.print(); }); }
  var canvases = document.querySelectorAll("canvas[data-chart]");
  if (!canvases.length) { return; }
  if (typeof window.Chart !== "function") {
    canvases.forEach(function (c) { c.dataset.ready = "error"; });
    return;
  }
  canvases.forEach(function (canvas) {
    var spec = JSON.parse(canvas.dataset.chart);
    var target = spec.labels.map(function () { return spec.target; });
    var chart = new window.Chart(canvas, {
      type: "line",
      data: {
        labels: spec.labels,
        datasets: [
          { label: spec.series, data: spec.values, borderColor: "#1f6feb", backgroundColor: "#1f6feb",
            spanGaps: true, tension: 0.2, pointRadius: 3 },
          { label: spec.target_label, data: target, borderColor: "#d1242f", borderDash: [6, 4],
            pointRadius: 0, borderWidth: 1.5 }
        ]
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: { y: { min: 0, suggestedMax: 100, ticks: { callback: function (v) { return v + " %"; } } } },
        plugins: {
          legend: { display: true, position: "bottom", labels: { boxWidth: 12 } },
          tooltip: { callbacks: { label: function (ctx) {
            return ctx.dataset.label + ": " + (ctx.parsed.y === null ? "—" : ctx.parsed.y + " %");
          } } }
        }
      }
    });
    canvas.dataset.ready = "true";
    canvas.dataset.points = String(spec.values.filter(function (v) { return v !== null; }).length);
    canvas._chart = chart;
  });
})();
