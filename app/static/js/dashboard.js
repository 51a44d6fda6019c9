// Draws the dashboard's weekly KPI charts with Chart.js from the JSON the page embeds
// (#kpi-charts: {labels, charts: {id: {type, unit, datasets}}}); a canvas per chart id.
(function () {
  "use strict";
  var source = document.getElementById("kpi-charts");
  if (!source || typeof window.Chart !== "function") { return; }
  var data;
  try { data = JSON.parse(source.textContent); } catch (e) { return; }

  var COLOURS = ["#0f62fe", "#da1e28", "#198038", "#b25e00", "#8a3ffc", "#007d79", "#6f6f6f"];

  function config(spec) {
    return {
      type: spec.type,
      data: {
        labels: data.labels,
        datasets: spec.datasets.map(function (set, i) {
          var colour = COLOURS[i % COLOURS.length];
          return { label: set.label, data: set.data, borderColor: colour,
                   backgroundColor: spec.type === "bar" ? colour + "99" : colour,
                   tension: 0.2, spanGaps: true, pointRadius: 2 };
        })
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } },
                   tooltip: { callbacks: { label: function (ctx) {
                     var v = ctx.parsed.y;
                     return ctx.dataset.label + ": " + (v === null ? "—" : v + " " + spec.unit);
                   } } } },
        scales: { y: { beginAtZero: true, title: { display: true, text: spec.unit } } }
      }
    };
  }

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var spec = data.charts[canvas.getAttribute("data-chart")];
    if (spec) { new window.Chart(canvas, config(spec)); }
  });
})();
