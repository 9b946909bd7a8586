// Attachment previews on the read page. A "Preview" link (only images and PDFs get one;
// the server never serves HTML or SVG inline) opens the file in a new tab by itself;
// with this script it opens the preview dialog (templates/mailbox/_preview_dialog.html)
// instead: an <img> for an image, an <iframe> on the same ?preview=1 URL for a PDF.
// Escape or the close button closes it, and the focus goes back to the link.
(function () {
  "use strict";
  let opener = null;

  function dialog() {
    const box = document.getElementById("preview-dialog");
    return box && typeof box.showModal === "function" ? box : null;
  }

  function failed(box) {
    box.querySelector("[data-preview-body]").replaceChildren();
    box.querySelector("[data-preview-failed]").hidden = false;
  }

  function content(box, type, url, name) {
    if (type === "application/pdf") {
      // No `sandbox` attribute: Chromium shows an error page instead of its PDF viewer
      // in a sandboxed frame. The response's own CSP sandboxes the document
      // (mailbox.views.PREVIEW_CSP), which the viewer accepts.
      const frame = document.createElement("iframe");
      frame.className = "preview-frame";
      frame.title = name;
      frame.referrerPolicy = "no-referrer";
      frame.src = url;
      return frame;
    }
    const image = document.createElement("img");
    image.className = "preview-image";
    image.alt = name;
    image.referrerPolicy = "no-referrer";
    image.addEventListener("error", () => failed(box));
    image.src = url;
    return image;
  }

  function open(link) {
    const box = dialog();
    if (!box) return false;
    const url = new URL(link.href, document.baseURI);
    const download = new URL(url);
    download.search = "";
    const name = link.dataset.previewName || "";
    box.querySelector("[data-preview-title]").textContent = name;
    box.querySelector("[data-preview-open]").href = url.href;
    box.querySelector("[data-preview-download]").href = download.href;
    box.querySelector("[data-preview-failed]").hidden = true;
    box.querySelector("[data-preview-body]").replaceChildren(
      content(box, link.dataset.preview, url.href, name));
    opener = link;
    box.showModal();
    box.querySelector("[data-preview-close]").focus();
    return true;
  }

  document.addEventListener("click", function (event) {
    // A new tab or window when the reader asks for one, as any link.
    if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    let link = event.target.closest("a[data-preview]");
    const thumb = !link && event.target.closest(".attachment img.thumb");
    if (thumb) link = thumb.closest(".attachment").querySelector("a[data-preview]");
    if (link && open(link)) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    const box = event.target.closest("#preview-dialog");
    if (!box) return;
    // The close button, or a click on the backdrop (the dialog box itself, outside its content).
    if (event.target.closest("[data-preview-close]") || event.target === box) box.close();
  });

  // Native <dialog>: Escape closes it (the shortcuts leave keys alone while a dialog is
  // open). Whichever way it closes, the file stops loading and the focus goes back.
  document.addEventListener("close", function (event) {
    const box = event.target;
    if (!box || box.id !== "preview-dialog") return;
    box.querySelector("[data-preview-body]").replaceChildren();
    const back = opener;
    opener = null;
    if (back && back.isConnected && document.activeElement !== back) back.focus();
  }, true);
})();
