// The chart library as this app uses it: plotly.js with only the traces our pages draw.
// `make` bundles it with esbuild (frontend/build.mjs); nothing built is committed.
"use strict";

var Plotly = require("plotly.js/lib/core");

Plotly.register([
  require("plotly.js/lib/bar"),
  require("plotly.js/lib/heatmap"),
  require("plotly.js/lib/scatterpolar"),
]);
// Plotly's own words (its English is built in) for each language of the app but English.
Plotly.register(require("plotly.js/lib/locales/sv"));

module.exports = Plotly;
