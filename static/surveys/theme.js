// Light or dark, as the system is set, before the page is drawn; always light on paper.
(function () {
  "use strict";
  const dark = window.matchMedia("(prefers-color-scheme: dark)");
  function apply(theme) {
    document.documentElement.setAttribute("data-bs-theme", theme || (dark.matches ? "dark" : "light"));
  }
  apply();
  document.documentElement.classList.remove("no-js");
  dark.addEventListener("change", function () {
    apply();
  });
  window.addEventListener("beforeprint", function () {
    apply("light");
  });
  window.addEventListener("afterprint", function () {
    apply();
  });
})();
