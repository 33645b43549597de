// Draws each chart on the page from the figure handed over in its json_script element, in the
// page's own colours (so a dark theme holds), when it comes near the screen: a phone draws only
// what is seen. Printing draws every chart first.
(function () {
  "use strict";
  if (typeof Plotly === "undefined") return;
  const page = getComputedStyle(document.body);
  const ink = page.color;
  const grid = page.getPropertyValue("--bs-border-color").trim() || "#dee2e6";

  function draw(element) {
    if (element.dataset.drawn) return;
    element.dataset.drawn = "1";
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
    Plotly.newPlot(element, figure.data, layout, { displayModeBar: false, responsive: true });
  }

  const charts = Array.prototype.slice.call(document.querySelectorAll("[data-chart]"));
  if (!("IntersectionObserver" in window)) {
    charts.forEach(draw);
    return;
  }
  const watcher = new IntersectionObserver(
    function (entries) {
      entries.forEach(function (entry) {
        if (!entry.isIntersecting) return;
        watcher.unobserve(entry.target);
        draw(entry.target);
      });
    },
    { rootMargin: "200px 0px" },
  );
  charts.forEach(function (element) {
    watcher.observe(element);
  });
  window.addEventListener("beforeprint", function () {
    charts.forEach(draw);
  });
})();
