// Recipient autocomplete in To, Cc and Bcc: each stays a plain comma-separated text
// field (which is all there is without JavaScript); this turns it into a combobox as
// in the ARIA Authoring Practices' "list autocomplete" pattern. After two characters
// of the address under the caret (or one Hangul syllable) it asks
// /contacts/autocomplete/ (debounced, the stale request aborted) and shows a listbox;
// arrows move, Enter or Tab chooses, Escape closes. Choosing puts `Name <address>, `
// in place of what was typed; a group puts all its members. While a Korean IME is
// composing a syllable, nothing in the field is changed and Enter belongs to the IME.
(function () {
  "use strict";
  const form = document.getElementById("compose-form");
  const url = form && form.dataset.autocompleteUrl;
  if (!url || !window.fetch || !window.AbortController) return;
  const DEBOUNCE_MS = 150;
  const SEPARATORS = /[,;]/;

  function isQuery(text) {
    return text.length >= 2 || /^[\uac00-\ud7a3]$/.test(text);
  }

  // The address being typed: from after the last separator before the caret (outside
  // quotes) to the next separator after it.
  function tokenAt(value, caret) {
    let start = 0;
    let quoted = false;
    for (let i = 0; i < caret; i++) {
      const c = value[i];
      if (c === '"') quoted = !quoted;
      else if (c === "\\" && quoted) i++;
      else if (!quoted && SEPARATORS.test(c)) start = i + 1;
    }
    let end = value.length;
    for (let i = caret; i < value.length; i++) {
      if (SEPARATORS.test(value[i]) && !quoted) { end = i; break; }
    }
    return {start, end, text: value.slice(start, end).trim()};
  }

  function enhance(input, index) {
    const field = input.closest(".field") || input.parentElement;
    const label = form.querySelector(`label[for="${input.id}"]`);
    const list = document.createElement("ul");
    list.id = `${input.id}-suggestions`;
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", interpolate(gettext("Suggestions for %(field)s"),
      {field: label ? label.textContent.replace(/[:：]\s*$/, "").trim() : input.name}, true));
    list.hidden = true;
    const status = document.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    field.classList.add("has-suggestions");
    input.after(list, status);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);

    let results = [];
    let active = -1;
    let timer = null;
    let pending = null; // the AbortController of the request in flight
    let composing = false;

    function close() {
      window.clearTimeout(timer);
      if (pending) pending.abort();
      pending = null;
      results = [];
      active = -1;
      list.hidden = true;
      list.replaceChildren();
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function setActive(i) {
      active = i;
      list.querySelectorAll("[role=option]").forEach((option, n) => {
        option.setAttribute("aria-selected", String(n === i));
      });
      if (i < 0) {
        input.removeAttribute("aria-activedescendant");
        return;
      }
      const option = list.children[i];
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({block: "nearest"});
    }

    function render(items) {
      results = items;
      list.replaceChildren();
      if (!items.length) {
        close();
        return;
      }
      items.forEach((item, i) => {
        const option = document.createElement("li");
        option.id = `${input.id}-suggestion-${index}-${i}`;
        option.className = "suggestion";
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.dataset.kind = item.kind;
        const name = document.createElement("span");
        name.className = "suggestion-name";
        name.textContent = item.label || item.address;
        const detail = document.createElement("span");
        detail.className = "suggestion-detail";
        detail.textContent = item.kind === "group"
          ? interpolate(ngettext("Group of %(count)s", "Group of %(count)s", item.members.length),
            {count: item.members.length}, true)
          : (item.label ? item.address : "");
        option.append(name, detail);
        // Keep the focus in the field: choosing happens on click, not on blur.
        option.addEventListener("mousedown", (event) => event.preventDefault());
        option.addEventListener("click", () => choose(i));
        list.append(option);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      setActive(0);
      status.textContent = interpolate(
        ngettext("%(count)s suggestion", "%(count)s suggestions", items.length),
        {count: items.length}, true);
    }

    function choose(i) {
      const item = results[i];
      if (!item) return;
      const token = tokenAt(input.value, input.selectionStart ?? input.value.length);
      const before = input.value.slice(0, token.start).replace(/\s*$/, "");
      const after = input.value.slice(token.end).replace(/^[\s,;]*/, "");
      const head = before ? `${before} ` : "";
      const inserted = `${item.value}, `;
      input.value = head + inserted + after;
      const caret = (head + inserted).length;
      input.setSelectionRange(caret, caret);
      close();
      status.textContent = interpolate(gettext("Added %(recipient)s"),
        {recipient: item.label || item.address}, true);
      input.dispatchEvent(new Event("change", {bubbles: true}));
    }

    function lookup() {
      window.clearTimeout(timer);
      const token = tokenAt(input.value, input.selectionStart ?? input.value.length);
      if (!isQuery(token.text)) {
        close();
        return;
      }
      timer = window.setTimeout(() => {
        if (pending) pending.abort();
        const controller = new AbortController();
        pending = controller;
        fetch(`${url}?q=${encodeURIComponent(token.text)}`, {
          headers: {Accept: "application/json"},
          credentials: "same-origin",
          signal: controller.signal,
        })
          .then((response) => (response.ok ? response.json() : []))
          .then((items) => {
            if (pending !== controller) return; // a newer request replaced it
            pending = null;
            if (document.activeElement === input) render(items);
          })
          .catch((error) => {
            if (error.name !== "AbortError") close();
          });
      }, DEBOUNCE_MS);
    }

    input.addEventListener("input", lookup);
    input.addEventListener("compositionstart", () => { composing = true; });
    input.addEventListener("compositionend", () => { composing = false; lookup(); });
    input.addEventListener("blur", close);
    input.addEventListener("keydown", (event) => {
      // The IME owns the keys while it composes (Enter commits the syllable).
      if (composing || event.isComposing || event.keyCode === 229) return;
      const open = !list.hidden && results.length > 0;
      switch (event.key) {
        case "ArrowDown":
          if (!open) { lookup(); return; }
          event.preventDefault();
          setActive((active + 1) % results.length);
          break;
        case "ArrowUp":
          if (!open) return;
          event.preventDefault();
          setActive((active - 1 + results.length) % results.length);
          break;
        case "Enter":
        case "Tab":
          if (!open || active < 0) return;
          event.preventDefault(); // Enter would send the form; Tab stays to add another
          choose(active);
          break;
        case "Escape":
          if (!open) return;
          event.preventDefault();
          close();
          break;
        default:
      }
    });
  }

  ["to", "cc", "bcc"].forEach((name, i) => {
    const input = form.querySelector(`input[name="${name}"]`);
    if (input) enhance(input, i);
  });
})();
