// Keyboard shortcuts in the style of Gmail, on top of pages that work without them:
// every shortcut clicks a link or button that is already on the page (so htmx, the
// forms and the server do the work), and the help dialog lists them all.
//
// The list pane and the reading pane are replaced by htmx at any moment, so nothing
// here keeps an element: the keyboard cursor is remembered by its row's id and looked
// up again whenever it is needed.
(function () {
  "use strict";
  const SEQUENCE_MS = 1500; // how long a "g" waits for its second key
  const RETURN_KEY = "webmail:shortcuts:return-to"; // the row "u" comes back to
  const FOLDERS = {i: "inbox", s: "sent", d: "drafts", t: "trash"};
  // Inputs that take no text: a key pressed on them is still a shortcut.
  const NOT_TYPED = new Set(["checkbox", "radio", "button", "submit", "reset", "image", "file", "range", "color"]);
  // Where Enter already means something (follow, press, toggle) and stays the browser's.
  const ACTIVATES = "a[href], button, summary, input, select, textarea, label, iframe, [role=button], [role=link], [role=checkbox], [role=menuitem], [role=tab], [role=option]";

  let cursorKey = null; // the cursor row's id
  let cursorIndex = -1; // its place, for when its message leaves the list
  let sequence = null; // the timer while a "g" waits
  let refocus = false; // a shortcut's action will replace the focused pane
  let opener = null; // what had the focus before the help opened
  let moveOpener = null; // what had the focus before "v" opened "Move to…"

  function enabled() {
    return document.body.dataset.shortcuts !== "off";
  }

  // --- rows, the open message and the cursor ---
  function rows() {
    return Array.from(document.querySelectorAll("#list-pane .message-list > .list-row"))
      .filter((row) => row.querySelector(".row-link"));
  }
  function keyOfRow(row) {
    return row.id || row.querySelector(".row-link").getAttribute("href");
  }
  function openMessage() {
    return document.querySelector("#reading-pane [data-message-id]");
  }
  function currentRow() {
    // The open message's own row: right after a swap, before app.js has moved the
    // "current" mark, the pane already says which message is open.
    const open = openMessage();
    const own = open && document.getElementById("row-" + open.dataset.messageId);
    if (own && rows().includes(own)) return own;
    return rows().find((row) => row.classList.contains("current")) || null;
  }
  function cursorRow() {
    return cursorKey === null ? null : rows().find((row) => keyOfRow(row) === cursorKey) || null;
  }
  // The row a shortcut acts on: the open message's, or else the cursor's.
  function targetRow() {
    return (openMessage() && currentRow()) || cursorRow();
  }

  function setCursor(row, focus) {
    document.querySelectorAll(".list-row.keyboard-cursor").forEach((other) => {
      if (other !== row) other.classList.remove("keyboard-cursor");
    });
    if (!row) {
      cursorKey = null;
      cursorIndex = -1;
      return;
    }
    row.classList.add("keyboard-cursor");
    cursorKey = keyOfRow(row);
    cursorIndex = rows().indexOf(row);
    row.scrollIntoView({block: "nearest"});
    const link = row.querySelector(".row-link");
    // The row's link takes the focus, so a screen reader reads the row and Enter opens it;
    // not while the list is hidden (a narrow screen showing the message).
    if (focus && link.getClientRects().length) link.focus({preventScroll: true});
  }

  // After htmx replaced the list (an action, new mail): the same message if it is still
  // there, else the row that took its place.
  function restoreCursor() {
    if (cursorKey === null) return;
    const list = rows();
    let row = list.find((r) => keyOfRow(r) === cursorKey);
    if (!row && list.length && cursorIndex >= 0) row = list[Math.min(cursorIndex, list.length - 1)];
    setCursor(row || null, false);
  }

  // Click as a person would. Content htmx has just swapped in gets its hx- behaviour
  // only when it settles, a moment later; a key pressed in that moment would submit
  // the plain form (still correct, but a whole page load), so htmx looks at it first.
  function press(el) {
    if (window.htmx) window.htmx.process(el.closest("form") || el);
    el.click();
  }

  function open(row) {
    press(row.querySelector(".row-link"));
  }

  // --- what the keys do ---
  function move(delta) {
    const list = rows();
    const message = openMessage();
    // The cursor follows the open message (see afterSwap), and is ahead of it while the
    // next one loads, so keys pressed quickly still move one row each.
    const base = cursorRow() || (message && currentRow());
    if (!base && message) {
      // The open message's row is not on this page of the list: its own Older/Newer links.
      const link = message.querySelector(delta > 0 ? ".message-nav a[rel=next]" : ".message-nav a[rel=prev]");
      if (link) press(link);
      return;
    }
    if (!list.length) return;
    const index = base ? list.indexOf(base) + delta : 0;
    if (index < 0 || index >= list.length) return;
    const row = list[index];
    if (message) {
      setCursor(row, false);
      open(row);
    } else {
      setCursor(row, true);
    }
  }

  function openCursor() {
    const row = cursorRow();
    if (row && !(openMessage() && row.classList.contains("current"))) open(row);
  }

  // A button of the reading pane, or else the same action among the row's own buttons.
  function act(target, rowValues) {
    const message = openMessage();
    let button = message && message.querySelector('[data-shortcut-target="' + target + '"]');
    if (!button && rowValues) {
      const row = targetRow();
      if (row) {
        button = rowValues
          .map((value) => row.querySelector('.row-actions button[value="' + value + '"]'))
          .find(Boolean);
      }
    }
    if (!button || button.disabled) return;
    // The cursor starts on the message acted on, so it lands on the next one if this
    // one leaves the list.
    if (cursorKey === null && message && currentRow()) setCursor(currentRow(), false);
    refocus = true;
    press(button);
  }

  // "b": the reading pane's Snooze menu, open, with its first choice focused.
  function snoozeMenu() {
    const message = openMessage();
    const summary = message && message.querySelector('[data-shortcut-target="snooze"]');
    const menu = summary && summary.closest("details");
    if (!menu) return;
    menu.open = true;
    const first = menu.querySelector(".menu-panel button");
    if (first) first.focus();
  }

  // "v": "Move to…" (Gmail's v). With a message open, the reading pane's menu; else the
  // list's "Move to" for the ticked rows (the cursor's row is ticked if none is). The
  // folder list takes the focus; Escape closes the menu and gives the focus back.
  function moveMenu() {
    const message = openMessage();
    let select = null;
    if (message) {
      const summary = message.querySelector('[data-shortcut-target="move"]');
      const menu = summary && summary.closest("details");
      if (!menu) return; // Trash has no "Move to…"
      menu.open = true;
      select = menu.querySelector("select");
    } else {
      select = document.querySelector("#list-pane .move-menu select");
      const ticked = rows().some((row) => row.querySelector("input[type=checkbox]:checked"));
      if (select && !ticked) {
        const row = cursorRow();
        const box = row && row.querySelector("input[type=checkbox]");
        if (!box || box.disabled) return;
        box.click();
      }
    }
    if (!select) return;
    moveOpener = document.activeElement;
    select.focus();
  }

  function closeMenu(event) {
    const here = document.activeElement;
    const inside = here && here.closest ? here : null;
    const menu = inside && inside.closest("details.menu[open]");
    const bar = inside && inside.closest("#list-pane .move-menu");
    if (!menu && !(bar && moveOpener)) return;
    event.preventDefault();
    if (menu) menu.open = false;
    const back = moveOpener;
    moveOpener = null;
    if (back && back !== document.body && back.isConnected) {
      back.focus();
    } else if (menu) {
      menu.querySelector("summary").focus();
    } else {
      here.blur();
    }
  }

  function back() {
    const link = document.querySelector('[data-shortcut-target="back"]');
    if (!link) return;
    const row = targetRow();
    if (row) {
      try { window.sessionStorage.setItem(RETURN_KEY, keyOfRow(row)); } catch (error) { /* private mode */ }
    }
    link.click();
  }

  function compose() {
    const link = document.querySelector('[data-shortcut-target="compose"]');
    // Not again on the compose page itself: that would throw away what is written.
    if (link && link.pathname !== window.location.pathname) link.click();
  }

  function search() {
    const box = document.getElementById("q");
    if (box) {
      box.focus();
      box.select();
    }
  }

  function select() {
    const row = targetRow();
    const box = row && row.querySelector("input[type=checkbox]");
    if (box && !box.disabled) box.click();
  }

  function goTo(folder) {
    const link = document.querySelector('a[data-folder="' + folder + '"]');
    if (link) link.click();
  }

  function showHelp() {
    const dialog = document.getElementById("shortcuts-dialog");
    if (!dialog || dialog.open) return;
    opener = document.activeElement;
    dialog.showModal();
  }

  const KEYS = {
    "c": compose,
    "j": () => move(1),
    "k": () => move(-1),
    "o": openCursor,
    "Enter": openCursor,
    "u": back,
    "r": () => act("reply"),
    "a": () => act("reply-all"),
    "f": () => act("forward"),
    "e": () => act("archive", ["archive"]),
    "#": () => act("trash", ["trash"]),
    "s": () => act("flag", ["flag", "unflag"]),
    "b": snoozeMenu,
    "v": moveMenu,
    "I": () => act("mark-read", ["mark_read"]),
    "U": () => act("mark-unread", ["mark_unread"]),
    "/": search,
    "x": select,
    "?": showHelp,
  };
  const REPEATS = new Set(["j", "k"]);

  // --- reading the key ---
  function typing(el) {
    if (!el || el.nodeType !== 1) return false;
    if (el.isContentEditable) return true;
    if (el.localName === "textarea" || el.localName === "select") return true;
    return el.localName === "input" && !NOT_TYPED.has((el.getAttribute("type") || "text").toLowerCase());
  }

  function keyOf(event) {
    let key = event.key;
    // A Korean (or other non-Latin) layout gives "ㅓ" for j: the key's place decides.
    if (key.length === 1 && !/[\x20-\x7e]/.test(key)) {
      const letter = /^Key([A-Z])$/.exec(event.code);
      if (letter) key = letter[1];
    }
    if (/^[A-Za-z]$/.test(key)) {
      // Shift+i and Shift+u are shortcuts of their own; Caps Lock alone changes nothing.
      key = event.shiftKey ? key.toUpperCase() : key.toLowerCase();
    }
    return key;
  }

  // Escape in an open menu (the one "v" opened, or any other): closed, the focus back.
  // Not a shortcut, so not subject to the preference: menus close this way for everyone.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !event.defaultPrevented && !event.isComposing) {
      closeMenu(event);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (!enabled() || event.defaultPrevented || event.isComposing) return;
    if (event.ctrlKey || event.altKey || event.metaKey) return;
    if (typing(event.target)) return;
    if (document.querySelector("dialog[open]")) return; // a dialog's keys are its own
    const key = keyOf(event);

    if (sequence !== null) {
      window.clearTimeout(sequence);
      sequence = null;
      const folder = FOLDERS[key];
      if (folder) {
        event.preventDefault();
        goTo(folder);
      }
      return; // any other key ends the sequence and does nothing else
    }
    if (key === "g") {
      if (event.repeat) return;
      event.preventDefault();
      sequence = window.setTimeout(() => { sequence = null; }, SEQUENCE_MS);
      return;
    }

    const run = Object.prototype.hasOwnProperty.call(KEYS, key) ? KEYS[key] : null;
    if (!run || (event.repeat && !REPEATS.has(key))) return;
    if (key === "Enter" && (event.shiftKey || (event.target.closest && event.target.closest(ACTIVATES)))) return;
    event.preventDefault();
    run();
  });

  // --- the help dialog ---
  document.addEventListener("click", function (event) {
    if (event.target.closest("#shortcuts-button")) showHelp();
  });
  const dialog = document.getElementById("shortcuts-dialog");
  if (dialog) {
    dialog.addEventListener("close", function () {
      // Back where the reader was (the browser does it too; this covers a replaced opener).
      const back = opener;
      opener = null;
      if (back && back !== document.body && back.isConnected && document.activeElement !== back) {
        back.focus();
      }
    });
  }

  // --- after htmx swaps: the cursor on the same message, the focus not lost ---
  function afterSwap(event) {
    if (cursorKey !== null) {
      const message = openMessage();
      const current = message && currentRow();
      if (current && event.target && event.target.id === "reading-pane") {
        setCursor(current, false); // the cursor follows the message that was opened
      } else {
        restoreCursor();
      }
    }
    // Only the swap that follows a shortcut's own request may move the focus, and only
    // when that swap took it away (the focused pane was replaced).
    if (refocus) {
      refocus = false;
      if (!document.activeElement || document.activeElement === document.body) {
        const row = cursorRow();
        const link = row && row.querySelector(".row-link");
        if (link && link.getClientRects().length) link.focus({preventScroll: true});
      }
    }
  }
  document.addEventListener("htmx:afterSettle", afterSwap);
  ["htmx:responseError", "htmx:sendError"].forEach((name) => {
    document.addEventListener(name, () => { refocus = false; });
  });

  // --- start: the help button, and the row "u" came back from ---
  function start() {
    if (!enabled()) return;
    const button = document.getElementById("shortcuts-button");
    if (button && dialog) button.hidden = false;
    let returnTo = null;
    try {
      returnTo = window.sessionStorage.getItem(RETURN_KEY);
      window.sessionStorage.removeItem(RETURN_KEY);
    } catch (error) { /* private mode */ }
    if (returnTo) {
      const row = rows().find((r) => keyOfRow(r) === returnTo);
      if (row) setCursor(row, true);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
