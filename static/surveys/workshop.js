// The live workshop: a countdown for the card's timer, and slower polling while the page is hidden.
// Its words come translated from the page (data-left, data-up).
(function () {
  "use strict";

  function tick() {
    document.querySelectorAll("[data-ends-at]").forEach(function (timer) {
      var left = Math.max(0, Number(timer.dataset.endsAt) - Math.floor(Date.now() / 1000));
      var minutes = Math.floor(left / 60);
      var seconds = String(left % 60).padStart(2, "0");
      timer.textContent = left > 0 ? minutes + ":" + seconds + " " + timer.dataset.left : timer.dataset.up;
      timer.classList.toggle("workshop-timer-up", left === 0);
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSwap", tick);

  // Poll every 2 s while the page is visible; while it is hidden, at most every 15 s.
  var lastRequest = 0;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var now = Date.now();
    if (document.hidden && now - lastRequest < 15000) {
      event.preventDefault();
      return;
    }
    lastRequest = now;
  });
})();
