// Draws every chart on the page from the figure handed over in its json_script element.
(function () {
  "use strict";
  if (typeof Plotly === "undefined") return;
  document.querySelectorAll("[data-chart]").forEach(function (element) {
    const source = document.getElementById(element.dataset.chart);
    if (!source) return;
    const figure = JSON.parse(source.textContent);
    Plotly.newPlot(element, figure.data, figure.layout, {
      displayModeBar: false,
      responsive: true,
    });
  });
})();
