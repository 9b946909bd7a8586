// Attachments in compose: drop files on the page, paste them, or pick them; each one
// uploads at once to the draft (mailbox.views_compose.upload_attachment) with its own
// progress bar and a Cancel button, and Send/Save wait for uploads in progress.
// The first upload of a new message starts the draft; the page then continues on it.
// Without this script the file input and Save/Send post the files with the form.
(function () {
  "use strict";
  const form = document.getElementById("compose-form");
  const input = form && form.querySelector("input[type=file][data-max-bytes]");
  const zone = document.getElementById("dropzone");
  const list = document.getElementById("upload-list");
  const template = document.getElementById("upload-template");
  const warning = document.getElementById("attachment-warning");
  const status = document.getElementById("upload-status");
  if (!input || !zone || !list || !template || !warning || !window.FormData) return;

  const max = Number(input.dataset.maxBytes);
  const csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  const account = form.querySelector("select[name=account]");
  const sendButton = document.getElementById("send-button");
  const saveButton = document.getElementById("save-button");
  let uploadUrl = form.dataset.uploadUrl;
  let hasDraft = Boolean(form.dataset.draft);
  let committed = Number(zone.dataset.attachedBytes || 0); // on the draft, or on the way
  const active = new Set(); // uploads not finished yet, and removals in progress
  const waiting = []; // uploads waiting for the one that starts the draft
  let creator = null; // the upload that is starting the draft

  // --- sizes and messages ---
  function formatSize(bytes) { // as mailbox.formatting.file_size, which the server's messages use
    const units = [pgettext("file size", "%(size)s KB"), pgettext("file size", "%(size)s MB"),
      pgettext("file size", "%(size)s GB"), pgettext("file size", "%(size)s TB")];
    let text;
    if (bytes < 1024) {
      text = interpolate(npgettext("file size", "%(size)s byte", "%(size)s bytes", bytes),
        {size: bytes}, true);
    } else {
      let value = bytes / 1024;
      let unit = 0;
      while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
      // One decimal, dropped when it is 0: "1.2 MB", "64 KB".
      text = interpolate(units[unit], {size: value.toFixed(1).replace(/\.0$/, "")}, true);
    }
    return text.replace(/ /g, "\u00a0");
  }
  function limitError(file) {
    if (file.size > max) {
      return interpolate(gettext("“%(name)s” is larger than the %(limit)s limit."),
        {name: file.name, limit: formatSize(max)}, true);
    }
    if (committed + file.size > max) {
      return interpolate(
        gettext("“%(name)s” would bring the attachments to %(total)s, over the %(limit)s limit."),
        {name: file.name, total: formatSize(committed + file.size), limit: formatSize(max)}, true);
    }
    return "";
  }
  function warn(text) {
    warning.textContent = text;
    warning.hidden = !text;
  }
  function say(text) {
    status.textContent = text;
  }

  // --- Send and Save wait while files are on their way ---
  function busy() {
    return active.size > 0;
  }
  function refresh() {
    const wait = busy();
    sendButton.disabled = wait;
    saveButton.disabled = wait;
    sendButton.querySelector("[data-label]").hidden = wait;
    sendButton.querySelector("[data-waiting-label]").hidden = !wait;
    list.setAttribute("aria-busy", String(wait));
  }
  form.addEventListener("submit", function (event) {
    const action = event.submitter ? event.submitter.value : "send";
    if (action === "discard") return;
    if (busy()) {
      // Enter in a field, or a script's requestSubmit(): the files are not on the draft yet.
      event.preventDefault();
      say(gettext("Waiting for uploads…"));
    }
  });

  // --- one list item per file ---
  function newItem(file) {
    const li = template.content.firstElementChild.cloneNode(true);
    li.querySelector(".upload-name").textContent = file.name;
    li.querySelector(".upload-size").textContent = formatSize(file.size);
    const item = {
      file: file,
      li: li,
      progress: li.querySelector("progress"),
      button: li.querySelector("[data-cancel]"),
      state: "waiting", // → uploading → done, or cancelled / failed
      sent: false, // every byte of the request has left the browser
      xhr: null,
      removeUrl: "",
    };
    item.progress.setAttribute("aria-label", interpolate(gettext("Uploading %s"), [file.name]));
    item.button.setAttribute("aria-label", interpolate(gettext("Cancel upload of %s"), [file.name]));
    item.button.dataset.tooltip = gettext("Cancel upload");
    item.button.addEventListener("click", function () { cancel(item); });
    list.appendChild(li);
    return item;
  }

  function addFiles(files) {
    const refused = [];
    for (const file of Array.from(files)) {
      const problem = limitError(file);
      if (problem) { refused.push(problem); continue; }
      committed += file.size;
      const item = newItem(file);
      active.add(item);
      start(item);
    }
    warn(refused.join(" "));
    refresh();
  }

  // The first upload of a new message starts the draft; the others wait for it,
  // so that they all land on that one draft.
  // Autosave (autosave.js) may be starting the draft too: whichever starts it marks the
  // form (data-starting), the other waits, and both learn the draft from "compose:draft".
  function start(item) {
    if (!hasDraft && (creator || form.dataset.starting)) { waiting.push(item); return; }
    if (!hasDraft) { creator = item; form.dataset.starting = "upload"; }
    upload(item);
  }

  function settle(item) {
    active.delete(item);
    if (creator === item) {
      creator = null;
      delete form.dataset.starting;
      waiting.splice(0).forEach(start);
    }
    refresh();
  }

  function continueOn(answer) {
    if (hasDraft) return;
    hasDraft = true;
    uploadUrl = answer.upload_url;
    form.dataset.uploadUrl = answer.upload_url; // for editor.js's inline images
    form.action = answer.compose_url;
    history.replaceState(history.state, "", answer.compose_url);
    form.dataset.draft = answer.draft;
    form.dispatchEvent(new CustomEvent("compose:draft", {detail: answer}));
  }
  form.addEventListener("compose:draft", function (event) {
    continueOn(event.detail); // started by autosave: the files waiting for it go now
    if (!creator) waiting.splice(0).forEach(start);
  });

  function upload(item) {
    item.state = "uploading";
    const data = new FormData();
    data.append("csrfmiddlewaretoken", csrf);
    if (!hasDraft && account) data.append("account", account.value);
    data.append("file", item.file, item.file.name);
    data.append("size", String(item.file.size)); // after the file: a cut-off upload lacks it
    const xhr = new XMLHttpRequest();
    item.xhr = xhr;
    xhr.open("POST", uploadUrl);
    xhr.responseType = "json";
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.upload.addEventListener("progress", function (event) {
      // 99 at most until the server has stored the file.
      if (event.lengthComputable) item.progress.value = Math.min(99, (99 * event.loaded) / event.total);
    });
    xhr.upload.addEventListener("load", function () { item.sent = true; });
    xhr.addEventListener("load", function () {
      const answer = xhr.response || {};
      if (xhr.status === 201 && answer.attachment) {
        continueOn(answer);
        item.removeUrl = answer.attachment.remove_url;
        if (item.state === "cancelling") {
          // Cancelled after the server had the whole file: take it off the draft again.
          removeStored(item.li, item.file.name, item.file.size, item.removeUrl, true).then(function (removed) {
            if (!removed) { done(item); list.appendChild(item.li); }
            settle(item);
          });
          return;
        }
        done(item);
      } else if (item.state === "cancelling") {
        forget(item);
      } else {
        failed(item, answer.error || interpolate(gettext("“%s” could not be attached."), [item.file.name]));
      }
      settle(item);
    });
    xhr.addEventListener("error", function () {
      if (item.state === "cancelling") forget(item);
      else failed(item, interpolate(gettext("“%s” could not be attached: the connection failed."), [item.file.name]));
      settle(item);
    });
    xhr.addEventListener("abort", function () {
      forget(item);
      say(interpolate(gettext("Upload of %s cancelled."), [item.file.name]));
      settle(item);
    });
    xhr.send(data);
  }

  function done(item) {
    item.state = "done";
    item.li.classList.remove("uploading");
    item.progress.value = item.progress.max;
    item.progress.setAttribute("aria-label", interpolate(gettext("Uploaded %s"), [item.file.name]));
    item.button.setAttribute("aria-label", interpolate(gettext("Remove %s"), [item.file.name]));
    item.button.dataset.tooltip = gettext("Remove");
    say(interpolate(gettext("%s attached."), [item.file.name]));
  }

  function failed(item, message) {
    forget(item);
    warn(message);
  }

  // The file is not (and will not be) on the draft: drop it from the list and the total.
  function forget(item) {
    item.state = "cancelled";
    committed -= item.file.size;
    removeItem(item.li);
  }

  function removeItem(li, hadFocus) {
    hadFocus = hadFocus || li.contains(document.activeElement);
    const next = li.nextElementSibling || li.previousElementSibling;
    li.remove();
    if (hadFocus) (next && next.querySelector("button:not([hidden])") || input).focus();
  }

  function cancel(item) {
    if (item.state === "done") {
      removeStored(item.li, item.file.name, item.file.size, item.removeUrl, false);
    } else if (item.state === "waiting") {
      waiting.splice(waiting.indexOf(item), 1);
      forget(item);
      say(interpolate(gettext("Upload of %s cancelled."), [item.file.name]));
      settle(item);
    } else if (item.state === "uploading" && item.sent) {
      // Too late to stop the request: hide the file, and remove it once stored.
      item.state = "cancelling";
      removeItem(item.li);
      say(interpolate(gettext("Upload of %s cancelled."), [item.file.name]));
    } else if (item.state === "uploading") {
      item.xhr.abort();
    }
  }

  // Take a stored attachment off the draft (its Remove button, or a late cancel).
  async function removeStored(li, name, size, url, quiet) {
    const token = {};
    const hadFocus = li.contains(document.activeElement); // before the button is disabled
    active.add(token);
    refresh();
    const button = li.querySelector("button");
    if (button) button.disabled = true;
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: {"Accept": "application/json", "X-CSRFToken": csrf},
        credentials: "same-origin",
      });
      if (!response.ok) {
        const answer = await response.json().catch(() => ({}));
        throw new Error(answer.error || response.statusText);
      }
      committed -= size;
      if (li.isConnected) removeItem(li, hadFocus);
      if (!quiet) say(interpolate(gettext("%s removed."), [name]));
      return true;
    } catch (error) {
      warn(interpolate(gettext("“%(name)s” could not be removed: %(error)s"), {name: name, error: error.message}, true));
      return false;
    } finally {
      if (button) button.disabled = false;
      if (hadFocus && li.isConnected && button) button.focus();
      active.delete(token);
      refresh();
    }
  }

  // --- files already on the draft (rendered by the server) get a Remove button ---
  list.querySelectorAll("li[data-remove-url]").forEach(function (li) {
    const check = li.querySelector("[data-remove-check]");
    const button = li.querySelector("[data-remove]");
    if (!button || (check && check.querySelector("input").checked)) return;
    if (check) check.hidden = true;
    button.hidden = false;
    button.addEventListener("click", function () {
      removeStored(li, li.dataset.name, Number(li.dataset.size), li.dataset.removeUrl, false);
    });
  });

  // --- the file picker ---
  input.addEventListener("change", function () {
    const files = Array.from(input.files);
    input.value = ""; // uploaded now: Save and Send must not post them again
    addFiles(files);
  });

  // --- drag and drop: anywhere on the page, so a missed drop never opens the file ---
  let depth = 0;
  function carriesFiles(event) {
    return Boolean(event.dataTransfer) && Array.from(event.dataTransfer.types || []).includes("Files");
  }
  document.addEventListener("dragenter", function (event) {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth++;
    zone.classList.add("dragover");
  });
  document.addEventListener("dragover", function (event) {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  document.addEventListener("dragleave", function (event) {
    if (!carriesFiles(event)) return;
    // Leaving the window (no element to go to) ends the drag over the page, whatever the count.
    depth = event.relatedTarget ? Math.max(0, depth - 1) : 0;
    if (!depth) zone.classList.remove("dragover");
  });
  document.addEventListener("drop", function (event) {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth = 0;
    zone.classList.remove("dragover");
    addFiles(event.dataTransfer.files);
  });

  // --- paste: files from the clipboard; text pasted into a field stays text ---
  document.addEventListener("paste", function (event) {
    const data = event.clipboardData;
    if (!data || !data.files || !data.files.length) return;
    const field = event.target.closest && event.target.closest("input:not([type=file]), textarea");
    if (field && Array.from(data.types).includes("text/plain")) return;
    event.preventDefault();
    addFiles(data.files);
  });
})();
