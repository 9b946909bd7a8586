// The mail pages' behaviour on top of working HTML: every action here also works
// without JavaScript as a plain form or link. htmx swaps the server-rendered fragments;
// this file keeps the panes, toasts and the selection in step with it.
(function () {
  "use strict";
  const TOAST_MS = 8000;

  function each(selector, root, fn) {
    (root || document).querySelectorAll(selector).forEach(fn);
  }

  // --- toasts: dismiss, and leave by themselves unless hovered or focused ---
  function armToast(toast) {
    if (toast.dataset.armed) return;
    toast.dataset.armed = "1";
    let timer = null;
    // Undo send's toast stays for the undo window (data-toast-ms), the others TOAST_MS.
    const ms = Number(toast.dataset.toastMs) || TOAST_MS;
    const start = () => { timer = window.setTimeout(() => toast.remove(), ms); };
    const stop = () => { window.clearTimeout(timer); };
    toast.addEventListener("mouseenter", stop);
    toast.addEventListener("mouseleave", start);
    toast.addEventListener("focusin", stop);
    toast.addEventListener("focusout", start);
    start();
  }
  // A toast from a script, the same component the server renders.
  function showToast(text) {
    const region = document.getElementById("toasts");
    if (!region) return;
    const toast = document.createElement("div");
    toast.className = "toast";
    toast.dataset.toast = "";
    const span = document.createElement("span");
    span.textContent = text;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "btn btn-icon";
    close.dataset.dismiss = "";
    close.setAttribute("aria-label", gettext("Dismiss"));
    close.textContent = "×";
    toast.append(span, close);
    region.append(toast);
    armToast(toast);
  }
  window.webmailToast = showToast;

  document.addEventListener("click", function (event) {
    const dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) dismiss.closest("[data-toast]").remove();
  });

  // --- the selection: select all, and confirmation of destructive buttons ---
  // "Select all N messages in …" (the server's select_all checkbox, shown without
  // JavaScript too) is offered here only once every row of the page is ticked.
  function syncSelectAll() {
    const banner = document.querySelector("[data-select-all]");
    if (!banner) return;
    const boxes = Array.from(document.querySelectorAll("#message-list input[name=ids]"));
    const pageFull = boxes.length > 0 && boxes.every((box) => box.checked);
    const everything = banner.querySelector("input[name=select_all]");
    if (!pageFull) everything.checked = false;
    const chosen = everything.checked;
    banner.hidden = !pageFull;
    banner.querySelector("[data-select-all-page]").hidden = chosen;
    banner.querySelector("[data-select-all-offer]").hidden = chosen;
    banner.querySelector("[data-select-all-chosen]").hidden = !chosen;
    banner.querySelector("[data-select-all-clear]").hidden = !chosen;
    const head = document.getElementById("select-all");
    if (head) head.checked = pageFull;
    if (pageFull) countSelectAll(banner);
  }
  // The offer says how many once the server has counted them (not on every page load:
  // counting a large folder costs more than drawing its page). Without the count, the
  // words without the number stand.
  function countSelectAll(banner) {
    if (banner.dataset.counted || !banner.dataset.countUrl) return;
    banner.dataset.counted = "asked";
    fetch(banner.dataset.countUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : null))
      .then((offer) => {
        if (!offer) return;
        banner.querySelector("[data-select-all-choose]").textContent = offer.choose;
        banner.querySelector("[data-select-all-chosen]").textContent = offer.chosen;
      })
      .catch(() => {});
  }
  document.addEventListener("change", function (event) {
    if (event.target.id === "select-all") {
      each("#message-list input[name=ids]", null, (box) => { box.checked = event.target.checked; });
    }
    if (event.target.matches("#select-all, #message-list input[name=ids], input[name=select_all]")) {
      syncSelectAll();
    }
  });
  document.addEventListener("click", function (event) {
    if (!event.target.closest("[data-select-all-clear]")) return;
    each("#message-list input[name=ids]", null, (box) => { box.checked = false; });
    syncSelectAll();
    const head = document.getElementById("select-all");
    if (head) head.focus();
  });
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // --- panes: which one a narrow screen shows, and the row that is open ---
  function markCurrent(id, thread) {
    each(".list-row.current", null, (row) => row.classList.remove("current"));
    each(".row-link[aria-current]", null, (link) => link.removeAttribute("aria-current"));
    // In conversation view an older message of a conversation is open from its row.
    const row = (id && document.getElementById("row-" + id)) ||
      (thread && document.querySelector('.list-row[data-thread="' + CSS.escape(thread) + '"]'));
    if (row) {
      row.classList.add("current");
      row.querySelector(".row-link").setAttribute("aria-current", "true");
    }
  }
  function syncView() {
    const mail = document.getElementById("mail");
    const view = document.querySelector("#reading-pane [data-message-id]");
    if (mail) mail.dataset.view = view ? "message" : "list";
    markCurrent(view && view.dataset.messageId, view && view.dataset.threadId);
  }

  // --- print: the reading pane's message, without the app around it ---
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) window.print();
  });

  // --- "Check mail now": enqueue a poll, then report when every account is done ---
  document.addEventListener("submit", async function (event) {
    const form = event.target;
    if (form.id !== "check-mail" || !window.fetch) return;
    event.preventDefault();
    // Looked up at each use: a list refresh (new mail) may replace them meanwhile.
    const button = () => document.getElementById("check-mail-button");
    const say = (text) => {
      const status = document.getElementById("check-mail-status");
      if (status) status.textContent = text;
    };
    if (button()) button().disabled = true;
    say(gettext("Checking mail…"));
    try {
      const response = await fetch(form.action, {
        method: "POST",
        headers: {"Accept": "application/json",
                  "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value},
        credentials: "same-origin",
      });
      const since = Date.parse((await response.json()).requested_at);
      for (let attempt = 0; attempt < 120; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const data = await (await fetch(form.dataset.statusUrl, {credentials: "same-origin"})).json();
        const done = data.accounts.filter((a) => a.last_poll_at && Date.parse(a.last_poll_at) >= since - 1000);
        if (done.length === data.accounts.length) {
          const fresh = done.reduce((sum, a) => sum + (a.error ? 0 : a.new), 0);
          const errors = done.filter((a) => a.error).map((a) => " " + a.account + ": " + a.error);
          const result = interpolate(ngettext("%s new message.", "%s new messages.", fresh), [fresh]) + errors.join("");
          say(result);
          showToast(result);
          document.dispatchEvent(new CustomEvent("webmail:mail-checked", {detail: {fresh: fresh}}));
          return;
        }
      }
      say(gettext("Still checking; reload the page in a moment."));
    } catch (error) {
      say(gettext("Could not check mail:") + " " + error);
    } finally {
      if (button()) button().disabled = false;
    }
  });

  // --- a choice that applies at once (the login page's language): the form's own
  // button is for pages without JavaScript ---
  document.addEventListener("change", function (event) {
    const select = event.target.closest("[data-submit-on-change]");
    if (select && select.form) {
      if (select.form.requestSubmit) select.form.requestSubmit(); else select.form.submit();
    }
  });

  // --- the keyboard-shortcut help and other dialogs need JavaScript: show their buttons ---
  function enhance(root) {
    each("[data-print]", root, (el) => { el.hidden = false; });
    syncSelectAll();
    each("[data-submit-on-change]", root, (el) => {
      each("[data-submit-button]", el.form, (button) => { button.hidden = true; });
    });
    each("[data-toast]", root, armToast);
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); syncView(); });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (!document.body.contains(event.target)) return;
    enhance(event.target);
    syncView();
    if (event.target.id === "reading-pane") {
      // Opening a message moves the reader to it, as a new page would: Tab then goes on to
      // its actions, and a screen reader announces the article by its subject.
      const article = event.target.querySelector("[data-message-id]");
      if (article && !article.contains(document.activeElement)) {
        article.setAttribute("tabindex", "-1");
        article.focus({preventScroll: true});
      }
    }
  });
})();
