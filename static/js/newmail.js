// New mail without reloading. Every page of a logged-in user asks the small status
// endpoint (GET /mail/status/, JSON) now and every `poll_seconds` after, and then:
// - keeps the Inbox's unread count in the title ("(3) Inbox · Webmail", as the server
//   renders it) and draws it on the favicon;
// - refreshes the list pane with htmx when the folder on screen has new mail and the
//   user is on its first page with no search and nothing selected (the reading pane,
//   the focus, the scroll position and any toast stay as they are);
// - announces newly arrived Inbox messages with desktop notifications, once the user
//   turned them on with the sidebar's button (the browser asks for permission then).
// Without JavaScript the server-rendered title is right at each load and the list is
// current after a reload; the button stays hidden.
(function () {
  "use strict";
  const DEFAULT_SECONDS = 30;
  const MAX_SECONDS = 600; // the longest wait after repeated failures
  const ONE_BY_ONE = 3; // more new messages than this make one summary notification
  const COUNT_PREFIX = /^\(\d+\)\s/;

  const state = {
    cursor: null, // the newest Inbox message id already known here
    seconds: DEFAULT_SECONDS,
    failures: 0,
    timer: null,
    busy: false,
    again: false,
    swaps: 0, // htmx swaps so far: an answer asked for before one may be stale
    unread: null,
    refreshing: 0, // when the list refresh in flight started (0: none)
    notifyBroken: false, // the browser has Notification but cannot construct one (Android)
    icon: null, // the favicon's own href and type, before any badge
    iconWanted: "",
    badges: {}, // label -> data: URL
  };

  function root() { return document.getElementById("newmail"); }

  // --- per-user memory: the cursor (this tab) and the notification choice (this browser) ---
  function key(name) {
    const el = root();
    return "webmail." + (el ? el.dataset.user : "") + "." + name;
  }
  function recall(storage, name) {
    try { return window[storage].getItem(key(name)); } catch (error) { return null; }
  }
  function keep(storage, name, value) {
    try { window[storage].setItem(key(name), value); } catch (error) { /* private mode: forget */ }
  }

  // --- the title and the favicon ---
  function showUnread(count) {
    state.unread = count;
    if (document.getElementById("mail")) {
      // The mail pages' title is the server's _title.html: keep its count current.
      const base = document.title.replace(COUNT_PREFIX, "");
      document.title = count > 0 ? "(" + count + ") " + base : base;
    }
    drawFavicon(count);
  }

  function setIcon(href, type) {
    const link = document.querySelector("link[rel~='icon']");
    if (!link) return;
    if (type) link.setAttribute("type", type); else link.removeAttribute("type");
    link.setAttribute("href", href);
  }

  function pill(ctx, x, y, width, height) {
    const r = height / 2;
    ctx.beginPath();
    ctx.arc(x + r, y + r, r, Math.PI / 2, Math.PI * 1.5);
    ctx.arc(x + width - r, y + r, r, Math.PI * 1.5, Math.PI / 2);
    ctx.closePath();
  }

  function drawFavicon(count) {
    const link = document.querySelector("link[rel~='icon']");
    if (!link) return;
    if (!state.icon) state.icon = {href: link.getAttribute("href"), type: link.getAttribute("type")};
    const label = count > 99 ? "99+" : String(count || "");
    state.iconWanted = label;
    if (!label) { setIcon(state.icon.href, state.icon.type); return; }
    if (state.badges[label]) { setIcon(state.badges[label], "image/png"); return; }
    const image = new Image();
    image.addEventListener("load", function () {
      const size = 64;
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = size;
      const ctx = canvas.getContext("2d");
      if (!ctx) return;
      ctx.drawImage(image, 0, 0, size, size);
      ctx.font = "bold " + (label.length > 2 ? 24 : 32) + "px system-ui, sans-serif";
      const height = 38;
      const width = Math.min(size, Math.max(height, ctx.measureText(label).width + 14));
      pill(ctx, size - width, 0, width, height);
      ctx.fillStyle = "#c5221f";
      ctx.fill();
      ctx.lineWidth = 3;
      ctx.strokeStyle = "#ffffff";
      ctx.stroke();
      ctx.fillStyle = "#ffffff";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText(label, size - width / 2, height / 2 + 2);
      try {
        state.badges[label] = canvas.toDataURL("image/png");
      } catch (error) {
        return; // a tainted canvas: keep the plain icon
      }
      if (state.iconWanted === label) setIcon(state.badges[label], "image/png");
    });
    image.src = state.icon.href;
  }

  // --- the list pane: refresh it when the folder on screen has new mail ---
  function listForm() { return document.getElementById("bulk"); }

  function canRefresh(folder) {
    const form = listForm();
    // A refresh that never settled (its request was dropped) stops blocking after a minute.
    if (state.refreshing && Date.now() - state.refreshing < 60000) return false;
    if (!form || form.dataset.folder !== folder || !window.htmx) return false;
    const list = form.querySelector("input[name='list']");
    if (list && list.value) return false; // a search, or a page other than the first
    if (document.querySelector("input[name='ids']:checked, #select-all:checked")) return false;
    // Not under a pending action or "Check mail now", nor with a menu of the list open.
    return !document.querySelector("#list-pane.htmx-request, #list-pane .htmx-request, "
      + "#list-pane details[open], #check-mail-button:disabled");
  }

  // A new message not shown yet that sorts onto the first page: dated no earlier than
  // its last row, or anywhere when the first page is the whole folder (no "Older" link).
  function belongsOnFirstPage(message) {
    if (document.getElementById("row-" + message.id)) return false;
    const times = document.querySelectorAll("#message-list > li time[datetime]");
    if (!times.length || !document.querySelector("#list-pane a[href*='before=']")) return true;
    const last = Date.parse(times[times.length - 1].getAttribute("datetime"));
    return !(Date.parse(message.date) < last);
  }

  function hasNews(data) {
    const form = listForm();
    if (String(data.latest === null ? "" : data.latest) !== (form.dataset.latest || "")) return true;
    // New Inbox mail dated older than the newest row can still belong on the first page.
    return data.folder === "inbox" && data.new.some(belongsOnFirstPage);
  }

  // Where the focus was, to put it back on the same control in the new list or sidebar.
  function describe(el) {
    let selector = el.tagName.toLowerCase();
    ["name", "value", "href", "data-folder"].forEach(function (attr) {
      if (el.hasAttribute(attr)) selector += "[" + attr + "=\"" + CSS.escape(el.getAttribute(attr)) + "\"]";
    });
    return selector;
  }
  function rememberFocus() {
    const active = document.activeElement;
    if (!active || !active.closest("#list-pane, #sidebar")) return null;
    const anchor = active.closest("[id]");
    const selector = "#" + CSS.escape(anchor.id) + (anchor === active ? "" : " " + describe(active));
    return {element: active, selector: selector};
  }
  function restoreFocus(kept) {
    if (!kept || document.body.contains(kept.element)) return;
    const again = document.querySelector(kept.selector);
    if (again) again.focus({preventScroll: true});
  }

  function refreshList(folder) {
    const link = document.querySelector("#folder-list a[data-folder='" + CSS.escape(folder) + "']");
    if (!link) return;
    const focus = rememberFocus();
    const scroller = document.querySelector("#list-pane .list-scroll");
    const scrollTop = scroller ? scroller.scrollTop : 0;
    const title = document.title;
    // What "Check mail now" said stays said (the same node: not announced again).
    const checked = document.getElementById("check-mail-status");
    state.refreshing = Date.now();
    // The server's fragment would title the page after the folder; a message open in
    // the reading pane keeps its title, so the swap ignores it.
    htmx.ajax("GET", link.getAttribute("href"), {target: "#list-pane", swap: "outerHTML ignoreTitle:true"})
      .catch(function () { /* the next poll tries again */ })
      .finally(function () {
        state.refreshing = 0;
        const again = document.querySelector("#list-pane .list-scroll");
        if (again) again.scrollTop = scrollTop;
        restoreFocus(focus);
        const empty = document.getElementById("check-mail-status");
        if (checked && empty && empty !== checked && checked.textContent && !empty.textContent) {
          empty.replaceWith(checked);
        }
        document.title = title;
        if (state.unread !== null) showUnread(state.unread);
      });
  }

  // A refresh nobody asked for must not wipe a toast (an Undo) still on screen.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    const detail = event.detail;
    if (state.refreshing && detail.target && detail.target.id === "toasts"
        && !detail.fragment.querySelector("[data-toast]")) {
      detail.shouldSwap = false;
    }
  });

  // --- desktop notifications ---
  function canNotify() {
    return "Notification" in window && typeof Notification.requestPermission === "function" && !state.notifyBroken;
  }
  function notifying() {
    return canNotify() && Notification.permission === "granted" && recall("localStorage", "notify") === "on";
  }

  function say(text) {
    const status = document.getElementById("notify-status");
    if (status) status.textContent = text;
  }

  function syncButton() {
    const button = document.getElementById("notify-button");
    if (!button) return;
    button.hidden = !canNotify();
    const label = button.querySelector("span");
    if (label) label.textContent = notifying() ? gettext("Turn off desktop notifications") : gettext("Enable desktop notifications");
  }

  function askPermission() {
    // Older Safari takes a callback and returns nothing; the others return a promise.
    return new Promise(function (resolve) {
      const answer = Notification.requestPermission(resolve);
      if (answer && typeof answer.then === "function") answer.then(resolve);
    });
  }

  document.addEventListener("click", async function (event) {
    if (!event.target.closest("#notify-button") || !canNotify()) return;
    if (notifying()) {
      keep("localStorage", "notify", "off");
      say(gettext("Desktop notifications are off."));
      syncButton();
      return;
    }
    let permission = Notification.permission;
    if (permission === "default") permission = await askPermission();
    if (permission === "granted") {
      keep("localStorage", "notify", "on");
      say(gettext("Desktop notifications are on: new mail is announced while Webmail is open in a tab."));
    } else if (permission === "denied") {
      say(gettext("This browser blocks notifications from this site. Allow them in its site settings, then try again."));
    } else {
      say(gettext("Desktop notifications stay off."));
    }
    syncButton();
  });

  function openMessage(message) {
    window.focus();
    const link = document.querySelector("#row-" + message.id + " .row-link");
    if (link) link.click(); else window.location.assign(message.url);
  }

  function notify(title, body, tag, onClick) {
    const shown = new Notification(title, {body: body, tag: tag, icon: state.icon ? state.icon.href : undefined});
    shown.addEventListener("click", function () { onClick(); shown.close(); });
  }

  function announce(data) {
    if (!data.new.length || !notifying()) return;
    try {
      if (data.new_count <= ONE_BY_ONE) {
        // Oldest first, so the newest ends up on top. The tag keeps two open tabs
        // from announcing one message twice.
        data.new.slice().reverse().forEach(function (m) {
          notify(m.sender, m.subject || gettext("(no subject)"), "webmail-message-" + m.id,
            function () { openMessage(m); });
        });
      } else {
        const senders = Array.from(new Set(data.new.map((m) => m.sender))).join(", ");
        const inbox = document.querySelector("#folder-list a[data-folder='inbox']");
        notify(interpolate(ngettext("%s new message", "%s new messages", data.new_count), [data.new_count]),
          senders, "webmail-new-mail",
          function () { window.focus(); if (inbox) window.location.assign(inbox.href); });
      }
    } catch (error) {
      // Some browsers (Chrome on Android) only notify from a service worker.
      state.notifyBroken = true;
      syncButton();
    }
  }

  // --- the poll ---
  function schedule(seconds) {
    window.clearTimeout(state.timer);
    state.timer = window.setTimeout(poll, seconds * 1000);
  }

  function apply(data) {
    if (typeof data.cursor === "number") {
      if (state.cursor !== null) announce(data);
      state.cursor = data.cursor;
      keep("sessionStorage", "cursor", String(data.cursor));
    }
    if (typeof data.inbox_unread === "number") showUnread(data.inbox_unread);
    if (canRefresh(data.folder) && hasNews(data)) refreshList(data.folder);
  }

  async function poll() {
    const el = root();
    if (!el || !window.fetch) return;
    if (state.busy) { state.again = true; return; }
    state.busy = true;
    window.clearTimeout(state.timer);
    let wait = state.seconds;
    try {
      const swapsBefore = state.swaps;
      const url = new URL(el.dataset.statusUrl, window.location.href);
      const form = listForm();
      if (form && form.dataset.folder) url.searchParams.set("folder", form.dataset.folder);
      if (state.cursor !== null) url.searchParams.set("since", state.cursor);
      const response = await fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}});
      // Logged out, the request ends on the login page: not JSON, so wait longer.
      if (!response.ok || !(response.headers.get("Content-Type") || "").includes("json")) {
        throw new Error(String(response.status));
      }
      const data = await response.json();
      state.failures = 0;
      if (data.poll_seconds > 0) state.seconds = data.poll_seconds;
      wait = state.seconds;
      // A swap since the question (a message opened, an action) brought the server's own
      // title and counts, newer than this answer: ask again instead of undoing them.
      if (swapsBefore !== state.swaps) state.again = true;
      else apply(data);
    } catch (error) {
      state.failures += 1;
      wait = Math.min(state.seconds * Math.pow(2, state.failures), MAX_SECONDS);
    } finally {
      state.busy = false;
    }
    if (state.again) {
      state.again = false;
      poll();
    } else {
      schedule(wait);
    }
  }

  function start() {
    if (!root()) return;
    const cursor = parseInt(recall("sessionStorage", "cursor"), 10);
    // A cursor from an earlier page of this tab: mail that came between pages is news too.
    if (cursor >= 0) state.cursor = cursor;
    syncButton();
    poll();
  }

  document.addEventListener("htmx:beforeSwap", function () { state.swaps += 1; });
  // "Check mail now" (app.js) has fetched mail: look at once.
  document.addEventListener("webmail:mail-checked", function () { poll(); });
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "visible") poll(); });
  window.addEventListener("online", function () { poll(); });
  // The sidebar comes back with every list fragment (out of band): show its button again.
  document.addEventListener("htmx:load", syncButton);
  document.addEventListener("htmx:oobAfterSwap", syncButton);

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
