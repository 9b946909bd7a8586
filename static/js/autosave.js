// Autosave in compose: the draft is saved a few seconds after the user stops typing, and
// when the page is hidden or left (fetch keepalive), to the form's data-autosave-url
// (mailbox.views_sending.autosave). The first save starts the draft; the page then
// continues on it (the form's action, the address bar, later saves and uploads), so
// there is never a second draft. Each save sends the draft's version the page has;
// when another tab has saved since, the server refuses (409) and the page says so
// instead of overwriting the newer text. Without this script "Save draft" works as ever.
//
// With compose.js (attachments): whichever starts the draft marks the form
// (data-starting) and the other waits; both announce the draft with "compose:draft".
// Before each save the form gets "compose:beforesave", for an editor to copy its content
// into the form's fields.
(function () {
  "use strict";
  const form = document.getElementById("compose-form");
  if (!form || !form.dataset.autosaveUrl || !window.FormData || !window.fetch) return;
  const DELAY_MS = 2000; // after the last keystroke
  const RETRY_MS = 10000; // after a failed connection
  const KEEPALIVE_LIMIT = 60000; // browsers refuse keepalive bodies over 64 KB
  const status = document.getElementById("autosave-status");
  const conflict = document.getElementById("autosave-conflict");
  const version = form.querySelector("input[name=version]");
  const csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  const NOT_SAVED = ["attachments", "remove_attachments", "send_at", "action", "send_later"];
  let url = form.dataset.autosaveUrl;
  let timer = null;
  let dirty = false; // typed since the last save began
  let saving = null; // the save in flight
  let stopped = false; // a conflict, or the message was sent meanwhile
  let submitting = false; // Save, Send or Discard pressed: the form's own POST decides

  function say(text) {
    if (status) status.textContent = text;
  }

  function later(ms) {
    window.clearTimeout(timer);
    timer = window.setTimeout(save, ms);
  }

  function payload() {
    form.dispatchEvent(new CustomEvent("compose:beforesave"));
    const data = new FormData(form);
    NOT_SAVED.forEach(function (name) { data.delete(name); });
    return data;
  }

  function size(data) {
    let total = 0;
    data.forEach(function (value) { total += typeof value === "string" ? value.length * 3 : value.size; });
    return total;
  }

  // A draft started here: the page continues on it.
  function adopt(answer) {
    url = answer.autosave_url;
    if (form.dataset.draft) return;
    form.dataset.draft = answer.draft;
    form.action = answer.compose_url;
    history.replaceState(history.state, "", answer.compose_url);
    form.dispatchEvent(new CustomEvent("compose:draft", {detail: answer}));
  }
  // A draft started by an upload (compose.js).
  form.addEventListener("compose:draft", function (event) {
    if (event.detail.autosave_url) url = event.detail.autosave_url;
    const reload = conflict && conflict.querySelector("[data-reload]");
    if (reload) reload.href = event.detail.compose_url;
  });

  async function save() {
    timer = null;
    if (stopped || submitting || !dirty) return;
    if (saving) { saving.then(function () { later(0); }); return; }
    if (!form.dataset.draft && form.dataset.starting) { later(DELAY_MS); return; } // an upload is starting it
    dirty = false;
    const first = !form.dataset.draft;
    if (first) form.dataset.starting = "autosave";
    saving = send(payload());
    try {
      await saving;
    } finally {
      saving = null;
      if (first && form.dataset.starting === "autosave") delete form.dataset.starting;
    }
  }

  async function send(data) {
    let response;
    let answer = {};
    try {
      response = await fetch(url, {
        method: "POST",
        body: data,
        headers: {"Accept": "application/json", "X-CSRFToken": csrf},
        credentials: "same-origin",
        keepalive: size(data) < KEEPALIVE_LIMIT, // finishes even if the page is being left
      });
      answer = await response.json().catch(function () { return {}; });
    } catch (error) {
      dirty = true;
      say(gettext("Not saved: the connection failed. Trying again…"));
      later(RETRY_MS);
      return;
    }
    if (response.ok) {
      if (version) version.value = answer.version;
      adopt(answer);
      say(answer.saved);
    } else if (response.status === 409 && answer.conflict) {
      // Another tab saved a newer text: never overwrite it; tell the user.
      stopped = true;
      say("");
      if (conflict) conflict.hidden = false;
    } else if (response.status === 409) {
      stopped = true; // queued or sent meanwhile (another tab): nothing to save into
      say(answer.error || "");
    } else {
      dirty = true; // tried again at the next keystroke
      say(answer.error || gettext("Not saved."));
    }
  }

  form.addEventListener("input", function (event) {
    if (event.target.type === "file" || event.target.name === "send_at") return;
    dirty = true;
    later(DELAY_MS);
  });
  form.addEventListener("change", function (event) {
    if (event.target.type === "file" || event.target.name === "send_at") return;
    if (event.target.name === "remove_attachments") return;
    dirty = true;
    later(DELAY_MS);
  });

  // The form's own POST carries the version too: let a save in flight finish first,
  // so that the POST has the version it produced.
  form.addEventListener("submit", function (event) {
    if (event.defaultPrevented) return;
    const pending = saving;
    if (pending) {
      event.preventDefault();
      const submitter = event.submitter;
      pending.then(function () { form.requestSubmit(submitter); });
      return;
    }
    submitting = true;
    window.clearTimeout(timer);
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) submitting = false; // back to this page from the history
  });

  // Leaving, or switching away: save now.
  function flush() {
    if (stopped || submitting || !dirty) return;
    window.clearTimeout(timer);
    save();
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") flush();
  });
  window.addEventListener("pagehide", flush);
})();
