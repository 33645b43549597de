// Draws every chart on the page from the figure handed over in its json_script element.
// The figures are drawn in the page's own colours, so they follow a dark theme too.
(function () {
  "use strict";
  if (typeof Plotly === "undefined") return;
  const page = getComputedStyle(document.body);
  const ink = page.color;
  const grid = page.getPropertyValue("--bs-border-color").trim() || "#dee2e6";
  document.querySelectorAll("[data-chart]").forEach(function (element) {
    const source = document.getElementById(element.dataset.chart);
    if (!source) return;
    const figure = JSON.parse(source.textContent);
    const layout = figure.layout;
    layout.paper_bgcolor = "rgba(0,0,0,0)";
    layout.plot_bgcolor = "rgba(0,0,0,0)";
    layout.font = Object.assign({}, layout.font, { color: ink });
    ["xaxis", "yaxis"].forEach(function (axis) {
      if (layout[axis]) layout[axis].gridcolor = grid;
    });
    if (layout.polar) {
      layout.polar.bgcolor = "rgba(0,0,0,0)";
      layout.polar.radialaxis.gridcolor = grid;
      layout.polar.angularaxis.gridcolor = grid;
    }
    Plotly.newPlot(element, figure.data, layout, {
      displayModeBar: false,
      responsive: true,
    });
  });
})();
