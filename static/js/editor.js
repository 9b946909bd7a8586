// Rich-text editing with Squire (static/vendor/squire-rte-*, DOMPurify for pastes): the
// compose body and signatures (whose images, inserted, pasted or dropped, are uploaded
// as the mail account's). The editor's HTML goes into a hidden field that the server
// sanitizes (mailbox.rich_compose, mailcore.richtext) and derives the text part from; the
// browser's HTML is never trusted. Without this script the plain text field is all there is.
//
// Colour is <font color>, not a style attribute: our CSP (style-src 'self') stops style
// attributes from applying, so what the editor shows and what is sent would differ.
// In compose it also: switches a message to plain text and back, uploads images pasted or
// dropped into the text as inline images of the draft, swaps the signature when the select
// changes, and asks before sending a message that mentions an attachment but has none.
(function () {
  "use strict";
  if (!window.Squire || !window.DOMPurify) return;
  const COLOUR = /(?:^|;)\s*color\s*:\s*(#[0-9a-f]{3,8}|rgba?\([\d.,%\s]+\)|[a-z]{3,20})\s*(?:;|$)/i;
  const ATTACH_WORDS = /\battach(?:ed|ment|ments|ing|es)?\b|첨부|붙임/i; // as mailcore.richtext

  // Pasted and loaded HTML: DOMPurify's defaults, then colours moved from style to <font>.
  function purify(html) {
    const frag = DOMPurify.sanitize(html, {
      RETURN_DOM_FRAGMENT: true,
      FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "svg", "math"],
      FORBID_ATTR: ["id"],
    });
    frag.querySelectorAll("[class]").forEach(function (el) { // the signature block's, no other
      if (el.nodeName === "DIV" && el.classList.contains("signature")) el.className = "signature";
      else el.removeAttribute("class");
    });
    frag.querySelectorAll("[style]").forEach(function (el) {
      const colour = COLOUR.exec(el.getAttribute("style") || "");
      el.removeAttribute("style");
      if (!colour) return;
      const font = document.createElement("font");
      font.setAttribute("color", colour[1]);
      while (el.firstChild) font.appendChild(el.firstChild);
      el.appendChild(font);
    });
    return document.importNode(frag, true);
  }

  document.querySelectorAll("[data-rich-editor]").forEach(setup);

  function setup(holder) {
    const form = holder.closest("form");
    const htmlInput = document.getElementById(holder.dataset.htmlInput);
    const textInput = holder.dataset.textInput ? document.getElementById(holder.dataset.textInput) : null;
    const root = holder.querySelector("[data-editor-root]");
    const status = holder.querySelector("[data-editor-status]");
    const formatting = holder.querySelector("[data-formatting]");
    const plainButton = holder.querySelector("[data-command=plain]");
    const initial = JSON.parse(document.getElementById(holder.dataset.initial).textContent || '""');
    const editor = new Squire(root, {
      blockTag: "DIV",
      sanitizeToDOMFragment: purify,
      tagAttributes: {blockquote: {type: "cite"}},
    });
    let rich = holder.dataset.format === "html" || !textInput;
    holder.hidden = false;
    root.setAttribute("aria-multiline", "true");

    // --- the hidden field (and the text field, for anything reading the form) ---
    function sync() {
      if (!rich) { htmlInput.value = ""; return; }
      htmlInput.value = editor.getHTML();
      if (textInput) textInput.value = root.innerText;
    }
    // Not on every keystroke: getHTML() tidies the document, which would move the caret
    // out of a format just switched off. On submit, and whenever the form is read.
    form.addEventListener("submit", sync, true);
    form.addEventListener("formdata", function (event) { // autosave's FormData(form) too
      sync();
      event.formData.set(htmlInput.name, htmlInput.value);
      if (textInput) event.formData.set(textInput.name, textInput.value);
    });

    // --- plain text and back ---
    function toPlainHtml(text) {
      const div = document.createElement("div");
      return text.split("\n").map(function (line) {
        div.textContent = line;
        return "<div>" + (line ? div.innerHTML : "<br>") + "</div>";
      }).join("");
    }
    const labelledBy = root.dataset.labelledby;
    function show(asRich) {
      rich = asRich;
      root.hidden = !rich;
      // Labelled like the text field only while it stands in for it.
      if (labelledBy && rich) root.setAttribute("aria-labelledby", labelledBy);
      else root.removeAttribute("aria-labelledby");
      if (formatting) formatting.hidden = !rich;
      if (textInput) textInput.hidden = rich;
      if (plainButton) plainButton.setAttribute("aria-pressed", String(!rich));
      holder.dataset.format = rich ? "html" : "plain";
      sync();
    }
    if (plainButton) {
      plainButton.addEventListener("click", function () {
        if (rich) {
          textInput.value = root.innerText.replace(/\n+$/, "") + "\n";
          show(false);
          say(gettext("Plain text: formatting and images are taken out."));
          textInput.focus();
        } else {
          editor.setHTML(toPlainHtml(textInput.value));
          show(true);
          say(gettext("Rich text."));
          editor.focus();
        }
      });
    }
    editor.setHTML(initial || (textInput && !rich ? "" : "<div><br></div>"));
    show(rich);

    function say(text) { if (status) status.textContent = text; }

    // --- toolbar ---
    const commands = {
      bold: function () { toggle("B", "bold", "removeBold"); },
      italic: function () { toggle("I", "italic", "removeItalic"); },
      underline: function () { toggle("U", "underline", "removeUnderline"); },
      bullets: function () { editor.hasFormat("UL") ? editor.removeList() : editor.makeUnorderedList(); },
      numbers: function () { editor.hasFormat("OL") ? editor.removeList() : editor.makeOrderedList(); },
      quote: function () {
        editor.hasFormat("BLOCKQUOTE") ? editor.decreaseQuoteLevel() : editor.increaseQuoteLevel();
      },
      link: link,
      heading: function () { setBlock(editor.hasFormat("H2") ? "DIV" : "H2"); },
      clear: function () { editor.removeAllFormatting(); },
    };
    function setBlock(tag) {
      editor.forEachBlock(function (block) {
        if (block.nodeName === tag || block.closest("li")) return;
        const next = document.createElement(tag);
        while (block.firstChild) next.appendChild(block.firstChild);
        block.parentNode.replaceChild(next, block);
      }, true);
    }
    function toggle(tag, on, off) {
      editor.hasFormat(tag) ? editor[off]() : editor[on]();
    }
    function link() {
      openLinkDialog(editor, function () { refreshState(); sync(); });
    }
    holder.querySelectorAll("[data-command]").forEach(function (button) {
      const run = commands[button.dataset.command];
      if (!run) return;
      button.addEventListener("mousedown", function (event) { event.preventDefault(); }); // keep the selection
      button.addEventListener("click", function () {
        run();
        if (document.querySelector("#link-dialog[open]")) return; // it gives the focus back
        editor.focus(); refreshState(); sync();
      });
    });
    editor.setKeyHandler("Ctrl-k", function (self, event) { event.preventDefault(); link(); });
    const colour = holder.querySelector("[data-colour]");
    if (colour) {
      colour.addEventListener("change", function () {
        editor.changeFormat({tag: "FONT", attributes: {color: colour.value}}, {tag: "FONT"});
        editor.focus();
        sync();
      });
    }
    const pressed = {bold: "B", italic: "I", underline: "U", bullets: "UL", numbers: "OL",
      quote: "BLOCKQUOTE", link: "A", heading: "H2"};
    function refreshState() {
      Object.keys(pressed).forEach(function (name) {
        const button = holder.querySelector("[data-command=" + name + "]");
        if (button) button.setAttribute("aria-pressed", String(editor.hasFormat(pressed[name])));
      });
    }
    editor.addEventListener("pathChange", refreshState);
    editor.addEventListener("select", refreshState);
    root.addEventListener("keyup", refreshState);

    if (!textInput) { // a signature: its own images (the account's), no signatures or Send
      setupSignatureImages(holder, form, editor, root, say, sync);
      return;
    }
    setupImages(form, editor, root, say);
    setupSignatures(form, editor, textInput, function () { return rich; }, sync, say);
    setupAttachmentCheck(form, root, textInput, function () { return rich; });
  }

  // --- a signature's images: Insert image, a paste or a drop uploads one as the account's
  // (mailbox.views_signature_images); the signature shows it by our URL ---
  function setupSignatureImages(holder, form, editor, root, say, sync) {
    const url = holder.dataset.imageUploadUrl;
    if (!url) return;
    const csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
    const error = holder.querySelector("[data-editor-error]");
    // The "Add an image" field is for pages without this script: the toolbar does it here.
    const field = form.querySelector("input[type=file][name=image]");
    if (field && field.closest(".field")) field.closest(".field").hidden = true;
    const picker = document.createElement("input"); // no name: never part of the form
    picker.type = "file";
    picker.accept = "image/png,image/jpeg,image/gif,image/webp";
    picker.hidden = true;
    holder.appendChild(picker);
    function images(transfer) {
      return Array.from((transfer && transfer.files) || []).filter(function (file) {
        return /^image\/(png|jpeg|gif|webp)$/.test(file.type);
      });
    }
    function upload(file) {
      const name = file.name || "image.png";
      const data = new FormData();
      data.append("image", file, name);
      if (error) error.hidden = true;
      say(interpolate(gettext("Uploading %s"), [name]));
      return fetch(url, {
        method: "POST", body: data, credentials: "same-origin",
        headers: {"Accept": "application/json", "X-CSRFToken": csrf},
      }).then(function (response) {
        return response.json().then(function (answer) {
          if (!response.ok || !answer.image) throw new Error(answer.error || response.statusText);
          editor.insertImage(answer.image.src, {alt: answer.image.name});
          say(interpolate(gettext("%s added."), [answer.image.name]));
          sync();
        });
      }).catch(function (failure) {
        const text = interpolate(gettext("“%(name)s” could not be added: %(error)s"),
          {name: name, error: failure.message}, true);
        if (error) { error.textContent = text; error.hidden = false; }
        say(text);
      });
    }
    function add(files) {
      files.reduce(function (chain, file) { return chain.then(function () { return upload(file); }); },
        Promise.resolve());
    }
    function take(event, transfer) {
      const files = images(transfer);
      if (!files.length) return;
      event.preventDefault();
      event.stopImmediatePropagation(); // not Squire's own (a data: image, which is dropped)
      add(files);
    }
    root.addEventListener("paste", function (event) { take(event, event.clipboardData); }, true);
    root.addEventListener("drop", function (event) { take(event, event.dataTransfer); }, true);
    const button = holder.querySelector("[data-command=image]");
    if (button) {
      button.addEventListener("mousedown", function (event) { event.preventDefault(); }); // keep the caret
      button.addEventListener("click", function () { picker.click(); });
    }
    picker.addEventListener("change", function () {
      add(Array.from(picker.files || []));
      picker.value = "";
      editor.focus();
    });
  }

  // --- images pasted or dropped into the text: inline images of the draft ---
  function setupImages(form, editor, root, say) {
    const csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
    const account = form.querySelector("select[name=account]");
    function images(transfer) {
      return Array.from((transfer && transfer.files) || []).filter(function (file) {
        return /^image\/(png|jpeg|gif|webp)$/.test(file.type);
      });
    }
    function upload(file) {
      const data = new FormData();
      data.append("csrfmiddlewaretoken", csrf);
      if (!form.dataset.draft && account) data.append("account", account.value);
      data.append("inline", "1");
      data.append("file", file, file.name || "image.png");
      data.append("size", String(file.size));
      say(interpolate(gettext("Uploading %s"), [file.name || "image.png"]));
      return fetch(form.dataset.uploadUrl, {
        method: "POST", body: data, credentials: "same-origin",
        headers: {"Accept": "application/json", "X-CSRFToken": csrf},
      }).then(function (response) {
        return response.json().then(function (answer) {
          if (!response.ok || !answer.attachment) throw new Error(answer.error || response.statusText);
          if (!form.dataset.draft) {
            form.dispatchEvent(new CustomEvent("compose:draft", {detail: answer}));
          }
          editor.insertImage(answer.attachment.src, {alt: answer.attachment.name});
          say(interpolate(gettext("%s attached."), [answer.attachment.name]));
          root.dispatchEvent(new Event("input", {bubbles: true}));
        });
      }).catch(function (error) {
        const warning = document.getElementById("attachment-warning");
        const text = interpolate(gettext("“%(name)s” could not be attached: %(error)s"),
          {name: file.name || "image.png", error: error.message}, true);
        if (warning) { warning.textContent = text; warning.hidden = false; } else say(text);
      });
    }
    function take(event, transfer) {
      const files = images(transfer);
      if (!files.length) return;
      event.preventDefault();
      // Neither compose.js's (these go into the text, not the list) nor Squire's own.
      event.stopImmediatePropagation();
      files.reduce(function (chain, file) { return chain.then(function () { return upload(file); }); },
        Promise.resolve());
    }
    root.addEventListener("paste", function (event) { take(event, event.clipboardData); }, true);
    root.addEventListener("drop", function (event) { take(event, event.dataTransfer); }, true);
  }

  // --- the signature select swaps the signature block in the text; choosing another From
  // sets the select to that From's signature (mailbox.forms.ComposeForm.sender_signatures) ---
  function setupSignatures(form, editor, textInput, isRich, sync, say) {
    const select = form.querySelector("select[name=signature]");
    const shown = form.querySelector("input[name=signature_shown]");
    const data = document.getElementById("signature-blocks");
    if (!select || !shown || !data) return;
    const blocks = JSON.parse(data.textContent);
    const from = form.querySelector("select[name=account]");
    const senderShown = form.querySelector("input[name=sender_shown]");
    const senders = document.getElementById("sender-signatures");
    if (from && senderShown && senders) {
      const bySender = JSON.parse(senders.textContent);
      from.addEventListener("change", function () {
        if (!Object.prototype.hasOwnProperty.call(bySender, from.value)) return;
        senderShown.value = from.value;
        const next = bySender[from.value];
        if (select.value === next || !select.querySelector("option[value='" + next + "']")) return;
        select.value = next;
        swap();
        say(interpolate(gettext("Signature: %s"), [select.selectedOptions[0].textContent]));
      });
    }
    select.addEventListener("change", swap);
    function swap() {
      const old = blocks[shown.value] || {html: "", text: ""};
      const next = blocks[select.value] || {html: "", text: ""};
      if (isRich()) {
        const template = document.createElement("template");
        template.innerHTML = editor.getHTML();
        const block = template.content.querySelector("div.signature");
        const replacement = document.createElement("template");
        replacement.innerHTML = next.html;
        if (block) block.replaceWith(replacement.content);
        else {
          const first = template.content.firstElementChild;
          first ? first.after(replacement.content) : template.content.appendChild(replacement.content);
        }
        editor.setHTML(template.innerHTML);
      } else if (old.text && textInput.value.includes(old.text)) {
        textInput.value = textInput.value.replace(old.text, next.text);
      } else if (next.text) {
        textInput.value = "\n\n" + next.text + textInput.value;
      }
      shown.value = select.value;
      sync();
    }
  }

  // --- Send and Send later ask first when the text mentions an attachment and nothing is attached ---
  function setupAttachmentCheck(form, root, textInput, isRich) {
    const dialog = document.getElementById("attachment-dialog");
    const list = document.getElementById("upload-list");
    const fileInput = form.querySelector("input[type=file]");
    if (!dialog || !list || typeof dialog.showModal !== "function") return;
    let confirmed = false;
    let submitter = null;
    function ownText() {
      if (isRich()) {
        const copy = root.cloneNode(true);
        copy.querySelectorAll("blockquote, div.signature").forEach(function (el) { el.remove(); });
        return copy.textContent;
      }
      const lines = [];
      for (const line of textInput.value.split("\n")) {
        if (line === "-- " || /^-{5,} .+ -{5,}$/.test(line.trim())) break;
        if (!line.startsWith(">")) lines.push(line);
      }
      return lines.join("\n");
    }
    const sendingLabel = dialog.querySelector("[data-sending]");
    const schedulingLabel = dialog.querySelector("[data-scheduling]");
    form.addEventListener("submit", function (event) {
      const by = event.submitter;
      const scheduling = Boolean(by && by.name === "send_later");
      if (confirmed || !by || !(scheduling || by.name === "action" && by.value === "send")) return;
      if (form.querySelector("input[name=send_anyway]")) return; // asked already (the page's notice)
      if (list.querySelector("li") || !ATTACH_WORDS.test(ownText())) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      submitter = by;
      if (sendingLabel && schedulingLabel) {
        sendingLabel.hidden = scheduling;
        schedulingLabel.hidden = !scheduling;
      }
      dialog.showModal();
    }, true);
    dialog.querySelector("[data-send-anyway]").addEventListener("click", function () {
      confirmed = true;
      const anyway = document.createElement("input");
      anyway.type = "hidden";
      anyway.name = "send_anyway";
      anyway.value = "1";
      form.appendChild(anyway);
      dialog.close();
      form.requestSubmit(submitter);
    });
    dialog.querySelector("[data-attach-file]").addEventListener("click", function () {
      dialog.close();
      if (fileInput) fileInput.focus();
    });
  }

  // --- the link dialog (Link button, Ctrl+K): the address, and the text when nothing is
  // selected; OK, Remove link (in a link), Cancel or Escape; the focus goes back to the text.
  const LINK_SCHEMES = /^(?:https?|mailto):/i;
  let linkDialog = null;

  // The href for what was typed, or the reason it cannot be one: web and email links only.
  function linkHref(value) {
    const typed = value.trim();
    if (!typed) return {error: gettext("Enter the address of the link.")};
    let href = typed;
    if (/^[^\s@:/]+@[^\s@/]+$/.test(typed)) href = "mailto:" + typed;
    else if (!/^[a-z][a-z0-9+.-]*:(?!\d)/i.test(typed)) href = "https://" + typed;
    if (!LINK_SCHEMES.test(href)) {
      return {error: gettext("Only web (http, https) and email (mailto) links can be added.")};
    }
    let url = null;
    try { url = new URL(href); } catch (error) { url = null; }
    const valid = url && !/\s/.test(href) && (url.protocol === "mailto:"
      ? /^[^@]+@[^@]+$/.test(url.pathname) : Boolean(url.hostname));
    if (!valid) return {error: gettext("This is not a web or email address.")};
    return {href: href};
  }

  function openLinkDialog(editor, changed) {
    if (!linkDialog) linkDialog = makeLinkDialog();
    if (linkDialog) linkDialog(editor, changed);
  }

  function makeLinkDialog() {
    let dialog = document.getElementById("link-dialog");
    const template = document.querySelector("template[data-link-dialog-template]");
    if (!dialog && template) { // after the page's content, outside its form
      dialog = template.content.firstElementChild.cloneNode(true);
      document.body.appendChild(dialog);
    }
    if (!dialog || typeof dialog.showModal !== "function") return null;
    const linkForm = dialog.querySelector("[data-link-form]");
    const url = dialog.querySelector("[data-link-url]");
    const text = dialog.querySelector("[data-link-text]");
    const urlField = dialog.querySelector("[data-link-url-field]");
    const textField = dialog.querySelector("[data-link-text-field]");
    const error = dialog.querySelector("[data-link-error]");
    const remove = dialog.querySelector("[data-link-remove]");
    const help = url.getAttribute("aria-describedby");
    const urlLabel = urlField.querySelector("label").textContent.trim();
    let state = null; // the editor, its selection and the link in it while the dialog is open

    function showError(message) {
      error.textContent = message ? urlLabel + ": " + message : "";
      error.hidden = !message;
      urlField.classList.toggle("invalid", Boolean(message));
      if (message) {
        url.setAttribute("aria-invalid", "true");
        url.setAttribute("aria-describedby", error.id + " " + help);
      } else {
        url.removeAttribute("aria-invalid");
        url.setAttribute("aria-describedby", help);
      }
    }
    // Close, give the editor its focus and selection back, then change the text.
    function finish(change) {
      const current = state;
      state = null;
      if (dialog.open) dialog.close();
      if (!current) return;
      current.editor.focus();
      current.editor.setSelection(current.range);
      if (!change) return;
      change(current);
      current.changed();
    }
    function linkRange(current) {
      const range = document.createRange();
      range.selectNodeContents(current.anchor);
      return range;
    }
    linkForm.addEventListener("submit", function (event) { // OK, or Enter in a field
      event.preventDefault();
      const answer = linkHref(url.value);
      if (answer.error) { showError(answer.error); url.focus(); return; }
      const words = text.value.trim() || url.value.trim();
      finish(function (current) {
        let range = current.range;
        if (current.anchor && current.anchor.isConnected) {
          range = linkRange(current);
        } else if (range.collapsed) { // nothing selected: the text, then the link on it
          const node = document.createTextNode(words);
          range.insertNode(node);
          range = document.createRange();
          range.selectNodeContents(node);
        }
        current.editor.setSelection(range);
        current.editor.makeLink(answer.href);
        const after = current.editor.getSelection();
        after.collapse(false);
        current.editor.setSelection(after);
      });
    });
    remove.addEventListener("click", function () {
      finish(function (current) {
        if (current.anchor && current.anchor.isConnected) current.editor.setSelection(linkRange(current));
        current.editor.removeLink();
      });
    });
    dialog.querySelector("[data-link-cancel]").addEventListener("click", function () { finish(null); });
    dialog.addEventListener("close", function () { finish(null); }); // Escape
    dialog.addEventListener("keydown", function (event) { // Tab stays in the dialog
      if (event.key !== "Tab") return;
      const stops = Array.from(dialog.querySelectorAll("input, button")).filter(function (el) {
        return !el.disabled && !el.closest("[hidden]");
      });
      const first = stops[0];
      const last = stops[stops.length - 1];
      if (event.shiftKey && document.activeElement === first) { event.preventDefault(); last.focus(); }
      else if (!event.shiftKey && document.activeElement === last) { event.preventDefault(); first.focus(); }
    });

    return function open(editor, changed) {
      if (dialog.open) return;
      const range = editor.getSelection().cloneRange();
      let node = range.commonAncestorContainer;
      if (node.nodeType !== Node.ELEMENT_NODE) node = node.parentNode;
      const anchor = node && node.closest("a[href]");
      state = {editor: editor, range: range, changed: changed,
        anchor: anchor && editor.getRoot().contains(anchor) ? anchor : null};
      url.value = state.anchor ? state.anchor.getAttribute("href") : "";
      text.value = "";
      textField.hidden = Boolean(state.anchor) || !range.collapsed;
      remove.hidden = !state.anchor;
      showError("");
      dialog.showModal();
      url.focus();
      url.select();
    };
  }
})();
