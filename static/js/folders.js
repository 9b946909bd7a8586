// The Folders settings page: "Delete" asks in a dialog instead of on a page of its own
// (the link still leads to that page without JavaScript).
(function () {
  "use strict";
  let opener = null;
  document.addEventListener("click", function (event) {
    const dialog = document.getElementById("folder-delete-dialog");
    if (!dialog || !dialog.showModal) return;
    const link = event.target.closest("[data-delete-folder]");
    if (link) {
      event.preventDefault();
      opener = link;
      dialog.querySelector("[data-folder-delete-form]").action = link.href;
      dialog.querySelector("[data-folder-delete-name]").textContent = "“" + link.dataset.deleteFolder + "”";
      // How many messages move to Trash, worded by the server (plurals, Korean).
      if (link.dataset.deleteSummary) {
        dialog.querySelector("[data-folder-delete-summary]").textContent = link.dataset.deleteSummary;
      }
      dialog.showModal();
      dialog.querySelector("[data-folder-delete-cancel]").focus();
      return;
    }
    if (event.target.closest("[data-folder-delete-cancel]")) dialog.close();
  });
  document.addEventListener("close", function (event) {
    if (event.target.id === "folder-delete-dialog" && opener) {
      opener.focus();
      opener = null;
    }
  }, true);
})();
