// The rule editor, enhanced: each condition shows the header name box only for
// "Header…", and each action shows the folder/address box only where it applies.
// Without this script every box is shown and the server ignores the unused ones.
(() => {
  "use strict";
  const needs = {
    condition: { select: "field", box: "header_name", when: (v) => v === "header" },
    action: { select: "kind", box: "argument", when: (v) => v === "move" || v === "forward" },
  };
  function update(row) {
    const rule = needs[row.dataset.ruleRow];
    const select = row.querySelector(`[data-rule-field="${rule.select}"] select`);
    const box = row.querySelector(`[data-rule-field="${rule.box}"]`);
    if (!select || !box) return;
    const shown = rule.when(select.value) || box.classList.contains("invalid");
    box.hidden = !shown;
  }
  function init() {
    document.querySelectorAll("[data-rule-row]").forEach((row) => {
      update(row);
      row.addEventListener("change", () => update(row));
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
