// doseladder web interface: a sprinkle of vanilla JS (everything works without it).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const indication = document.getElementById("indication");
  const items = Array.from(document.querySelectorAll("#criteria .criterion"));
  // show only the criteria that apply to the chosen indication (the server does the same)
  const filter = () => {
    const chosen = indication ? indication.value : "";
    for (const li of items) {
      const scope = (li.dataset.indications || "").split(" ").filter(Boolean);
      const applies = !chosen || scope.length === 0 || scope.includes(chosen);
      li.hidden = !applies;
      const box = li.querySelector("input[type=checkbox]");
      if (box) box.disabled = !applies;
    }
  };
  if (indication && items.length) {
    indication.addEventListener("change", filter);
    filter();
  }
  const markAll = document.getElementById("mark-all");
  if (markAll) {
    markAll.addEventListener("click", () => {
      for (const li of items) {
        const box = li.querySelector("input[type=checkbox]");
        if (box && !li.hidden) box.checked = true;
      }
    });
  }
});
