// Builds the static files made from npm packages into build/ (served under static/build/).
import { build } from "esbuild";
import { copyFile, mkdir } from "node:fs/promises";

const out = new URL("../build/", import.meta.url);
await mkdir(out, { recursive: true });
await build({
  entryPoints: [new URL("charts-entry.js", import.meta.url).pathname],
  outfile: new URL("plotly-custom.min.js", out).pathname,
  bundle: true,
  format: "iife",
  globalName: "Plotly",
  minify: true,
  target: "es2018",
  define: { global: "window", "define.amd": "false", "process.env.NODE_DEBUG": "false" },
  // plotly asks for maplibre's stylesheet only for map traces, which are not in this bundle.
  loader: { ".css": "empty" },
  legalComments: "none",
  logLevel: "warning",
});
// plotly's own stylesheet: with it on the page plotly writes no <style> of its own (strict CSP).
await copyFile(
  new URL("../node_modules/plotly.js/dist/plotly.css", import.meta.url),
  new URL("plotly.css", out),
);
