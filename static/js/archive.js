// Import and export (mailbox.views_archive), enhancing plain forms:
// - "Download selected" posts the list's form to the export view as an ordinary form
//   submission (htmx would fetch the file into the list pane instead); the browser saves
//   the download and the page stays;
// - an import upload shows its progress in a <progress> bar, then opens the import's
//   status page (which follows the import itself with htmx).
// Without this script both are plain form posts.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-download]");
    if (!button || !button.form) return;
    event.preventDefault();
    const form = button.form;
    const action = form.getAttribute("action");
    const extra = document.createElement("input");
    extra.type = "hidden";
    extra.name = button.name;
    extra.value = button.value;
    form.appendChild(extra);
    form.setAttribute("action", button.formAction);
    // form.submit() fires no submit event, so htmx leaves this one to the browser.
    HTMLFormElement.prototype.submit.call(form);
    form.setAttribute("action", action);
    extra.remove();
    const menu = button.closest("details");
    if (menu) menu.open = false;
  }, true);

  // A download link in a menu: the page stays, so the menu closes. (Plain links, not
  // `download` ones: a download refused as too large leads to a page that says so.)
  document.addEventListener("click", function (event) {
    const link = event.target.closest("details.menu a[data-download]");
    if (link) link.closest("details").open = false;
  });

  // A file over the import limit is refused before a byte is sent (the server refuses it
  // too, while it streams in, for anyone without this script): the browser's own
  // validation message says the limit, and the form is not submitted.
  document.addEventListener("change", function (event) {
    const input = event.target.closest && event.target.closest("input[type=file][data-max-bytes]");
    if (!input) return;
    const max = Number(input.dataset.maxBytes);
    const tooLarge = Array.from(input.files || []).some((file) => file.size > max);
    input.setCustomValidity(tooLarge ? input.dataset.tooLarge || "" : "");
    if (tooLarge) input.reportValidity();
  });

  const upload = document.querySelector("form[data-upload-progress]");
  if (!upload || !window.FormData || !window.XMLHttpRequest) return;
  const box = upload.querySelector(".upload-progress");
  const bar = box && box.querySelector("progress");
  const percent = box && box.querySelector("[data-upload-percent]");
  const submit = upload.querySelector("button[type=submit]");
  let sending = false;

  upload.addEventListener("submit", function (event) {
    if (sending || !box || !bar) return;
    event.preventDefault();
    sending = true;
    box.hidden = false;
    if (submit) submit.disabled = true;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", upload.action);
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      const value = Math.floor((e.loaded / e.total) * 100);
      bar.value = value;
      if (percent) percent.textContent = value + "%";
    });
    xhr.addEventListener("load", function () {
      const arrived = xhr.responseURL && new URL(xhr.responseURL).pathname;
      if (xhr.status === 200 && arrived && arrived !== new URL(upload.action).pathname) {
        window.location.assign(xhr.responseURL); // the import's status page
      } else {
        // The form has something to say (a field error): post it the ordinary way.
        HTMLFormElement.prototype.submit.call(upload);
      }
    });
    xhr.addEventListener("error", function () {
      HTMLFormElement.prototype.submit.call(upload);
    });
    xhr.send(new FormData(upload));
  });
})();
