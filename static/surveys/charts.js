// Draws each chart on the page from the figure handed over in its json_script element, in the
// page's own colours (so the dark theme holds, and paper gets dark ink), when it comes near the
// screen: a phone draws only what is seen. Printing draws every chart first.
(function () {
  "use strict";
  if (typeof Plotly === "undefined") return;
  const drawn = [];

  function colours() {
    const page = getComputedStyle(document.body);
    return {
      ink: page.color,
      grid: page.getPropertyValue("--bs-border-color").trim() || "#dee2e6",
    };
  }

  function themed(layout) {
    const { ink, grid } = colours();
    const update = { "font.color": ink };
    ["xaxis", "yaxis"].forEach(function (axis) {
      if (layout[axis]) update[axis + ".gridcolor"] = grid;
    });
    if (layout.polar) {
      update["polar.radialaxis.gridcolor"] = grid;
      update["polar.angularaxis.gridcolor"] = grid;
    }
    return update;
  }

  function draw(element) {
    if (element.dataset.drawn) return;
    element.dataset.drawn = "1";
    const source = document.getElementById(element.dataset.chart);
    if (!source) return;
    const figure = JSON.parse(source.textContent);
    const layout = figure.layout;
    layout.paper_bgcolor = "rgba(0,0,0,0)";
    layout.plot_bgcolor = "rgba(0,0,0,0)";
    if (layout.polar) layout.polar.bgcolor = "rgba(0,0,0,0)";
    const update = themed(layout);
    layout.font = Object.assign({}, layout.font, { color: update["font.color"] });
    Object.keys(update).forEach(function (key) {
      const path = key.split(".");
      if (path.length < 2 || path[0] === "font") return;
      let part = layout;
      path.slice(0, -1).forEach(function (name) {
        part = part[name];
      });
      part[path[path.length - 1]] = update[key];
    });
    // Plotly's locale follows the page's language (registered in the bundle; English is built in).
    const locale = document.documentElement.lang || "en";
    Plotly.newPlot(element, figure.data, layout, { displayModeBar: false, responsive: true, locale: locale });
    drawn.push(element);
  }

  function recolour() {
    drawn.forEach(function (element) {
      Plotly.relayout(element, themed(element.layout));
    });
  }

  const charts = Array.prototype.slice.call(document.querySelectorAll("[data-chart]"));
  // theme.js switches the theme on these events first; the charts follow.
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", recolour);
  window.addEventListener("beforeprint", function () {
    charts.forEach(draw);
    recolour();
  });
  window.addEventListener("afterprint", recolour);
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
})();
