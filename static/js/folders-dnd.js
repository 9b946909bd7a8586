// Drag messages onto a folder in the sidebar (and the account filter's button). A drop does exactly what the list's
// "Move to" menu does (the keyboard's and no-JavaScript way): it selects the dragged
// messages, chooses the folder in that menu and presses its Move button, so the same
// form is posted, the list is refreshed by htmx and the toast offers Undo.
(function () {
  "use strict";
  const TYPE = "application/x-webmail-ids";
  let dragged = null;

  function moveSelect() { return document.getElementById("move-target"); }
  function canDropOn(link) {
    const select = moveSelect();
    return Boolean(select && link && link.dataset.folder &&
      Array.from(select.options).some((o) => o.value === link.dataset.folder));
  }
  function makeDraggable(root) {
    (root || document).querySelectorAll("#message-list .list-row").forEach((row) => {
      row.setAttribute("draggable", "true");
    });
  }

  document.addEventListener("dragstart", function (event) {
    const row = event.target.closest && event.target.closest("#message-list .list-row");
    if (!row) return;
    const box = row.querySelector("input[name=ids]");
    const checked = Array.from(document.querySelectorAll("#message-list input[name=ids]:checked"));
    dragged = box && box.checked ? checked.map((b) => b.value) : [row.dataset.id];
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData(TYPE, dragged.join(","));
    event.dataTransfer.setData("text/plain", dragged.length + "");
  });
  document.addEventListener("dragend", function () {
    dragged = null;
    document.querySelectorAll(".drop-over").forEach((el) => el.classList.remove("drop-over"));
  });
  document.addEventListener("dragover", function (event) {
    const link = event.target.closest && event.target.closest(".sidebar a[data-folder]");
    if (!dragged || !canDropOn(link)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    link.classList.add("drop-over");
  });
  document.addEventListener("dragleave", function (event) {
    const link = event.target.closest && event.target.closest(".sidebar a[data-folder]");
    if (link && !link.contains(event.relatedTarget)) link.classList.remove("drop-over");
  });
  document.addEventListener("drop", function (event) {
    const link = event.target.closest && event.target.closest(".sidebar a[data-folder]");
    if (!dragged || !canDropOn(link)) return;
    event.preventDefault();
    link.classList.remove("drop-over");
    const ids = new Set(dragged);
    dragged = null;
    document.querySelectorAll("#message-list input[name=ids]").forEach((box) => {
      box.checked = ids.has(box.value);
    });
    moveSelect().value = link.dataset.folder;
    const button = document.getElementById("move-button");
    if (button) button.click();
  });

  // The account filter applies on change (app.js's data-submit-on-change); its button
  // is for pages without JavaScript.
  function hideFilterButton(root) {
    (root || document).querySelectorAll('button[form="account-filter"][data-submit-button]')
      .forEach((button) => { button.hidden = true; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    makeDraggable(document);
    hideFilterButton(document);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    makeDraggable(event.target);
    hideFilterButton(event.target);
  });
})();
