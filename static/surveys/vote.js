// Keeps "answered N of M" on the voting page up to date as colours are chosen.
(function () {
  "use strict";
  const form = document.querySelector("form.ballot");
  if (!form) return;
  const count = form.querySelector("[data-answered-count]");
  const progress = form.querySelector("#answered-progress");

  function update() {
    const answered = new Set();
    form.querySelectorAll('input[type="radio"][name$="-colour"]:checked').forEach(function (input) {
      answered.add(input.name);
    });
    count.textContent = String(answered.size);
    progress.value = answered.size;
  }

  form.addEventListener("change", update);
  update();
})();
