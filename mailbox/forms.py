from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.formatting import file_size
from accounts.models import Signature
from mailcore import addresses
from mailcore.header_text import hides_or_holds_controls

from . import actions, folders, junk, rich_compose, snooze
from .models import Folder

ACTIONS = {
    # action: (label, function(owner, ids, target), what the toast says)
    "mark_read": (
        _("Mark as read"),
        lambda o, ids, t: actions.set_seen(o, ids, True),
        lambda n: ngettext("%(n)s message marked as read.", "%(n)s messages marked as read.", n),
    ),
    "mark_unread": (
        _("Mark as unread"),
        lambda o, ids, t: actions.set_seen(o, ids, False),
        lambda n: ngettext(
            "%(n)s message marked as unread.", "%(n)s messages marked as unread.", n
        ),
    ),
    "flag": (
        _("Flag"),
        lambda o, ids, t: actions.set_flagged(o, ids, True),
        lambda n: ngettext("%(n)s message flagged.", "%(n)s messages flagged.", n),
    ),
    "unflag": (
        _("Unflag"),
        lambda o, ids, t: actions.set_flagged(o, ids, False),
        lambda n: ngettext("%(n)s message unflagged.", "%(n)s messages unflagged.", n),
    ),
    "archive": (
        _("Archive"),
        lambda o, ids, t: actions.move_to(o, ids, Folder.ARCHIVE),
        lambda n: ngettext("%(n)s message archived.", "%(n)s messages archived.", n),
    ),
    "inbox": (
        _("Move to Inbox"),
        lambda o, ids, t: actions.move_to(o, ids, Folder.INBOX),
        lambda n: ngettext("%(n)s message moved to Inbox.", "%(n)s messages moved to Inbox.", n),
    ),
    "trash": (
        _("Move to Trash"),
        lambda o, ids, t: actions.move_to_trash(o, ids),
        lambda n: ngettext("%(n)s message moved to Trash.", "%(n)s messages moved to Trash.", n),
    ),
    "restore": (
        _("Restore"),
        lambda o, ids, t: actions.restore(o, ids),
        lambda n: ngettext("%(n)s message restored.", "%(n)s messages restored.", n),
    ),
    "delete_forever": (
        _("Delete forever"),
        lambda o, ids, t: actions.delete_forever(o, ids),
        lambda n: ngettext("%(n)s message deleted forever.", "%(n)s messages deleted forever.", n),
    ),
    # In Snoozed: back to the Inbox now (mailbox.snooze).
    "unsnooze": (
        _("Unsnooze"),
        lambda o, ids, t: snooze.unsnooze(o, ids),
        lambda n: ngettext("%(n)s message moved to Inbox.", "%(n)s messages moved to Inbox.", n),
    ),
    # In Junk: back to the Inbox, and the senders no longer blocked (mailbox.junk).
    "not_junk": (
        _("Not junk"),
        lambda o, ids, t: junk.not_junk(o, ids),
        lambda n: ngettext("%(n)s message moved to Inbox.", "%(n)s messages moved to Inbox.", n),
    ),
    # Undo of "Report junk" with blocking: back to `target`, the blocks removed.
    "unreport_junk": (
        _("Not junk"),
        lambda o, ids, t: junk.not_junk(o, ids, t),
        lambda n: ngettext("%(n)s message moved back.", "%(n)s messages moved back.", n),
    ),
    # "Move to…": to the folder in `target` (Inbox, Archive or an own folder).
    "move_to": (
        _("Move to…"),
        lambda o, ids, t: actions.move_to(o, ids, t),
        lambda n: ngettext(
            "%(n)s message moved to %(folder)s.", "%(n)s messages moved to %(folder)s.", n
        ),
    ),
    # Undo of a move: back to the folder the messages came from.
    "move": (
        _("Move back"),
        lambda o, ids, t: actions.move_to(o, ids, t),
        lambda n: ngettext("%(n)s message moved back.", "%(n)s messages moved back.", n),
    ),
}
TRASH_ONLY = {"restore", "delete_forever"}
# What Undo does after each action: (action, target folder or None for "where it was").
UNDO = {
    "mark_read": ("mark_unread", None),
    "mark_unread": ("mark_read", None),
    "flag": ("unflag", None),
    "unflag": ("flag", None),
    "archive": ("move", None),
    "inbox": ("move", None),
    "trash": ("restore", None),
    "restore": ("trash", None),
    "move": (None, None),
    "move_to": ("move", None),
    "unsnooze": ("move", None),
}
# Actions offered only in one folder.
FOLDER_ONLY = {"unsnooze": Folder.SNOOZED, "not_junk": Folder.JUNK}
# Actions that need a `target` folder.
TARGETED = {"move", "move_to", "unreport_junk"}
# Actions that read the messages they act on (files, senders): a large "select all"
# runs them on chunks of ids (mailbox.selection), the others as one UPDATE.
CHUNKED = {"delete_forever", "not_junk", "unreport_junk"}


class MessageIdsField(forms.Field):
    """Selected message ids; ownership is enforced by the actions, not here."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        if not value:
            return []
        try:
            return [int(v) for v in value]
        except (TypeError, ValueError):
            raise forms.ValidationError(_("Invalid message selection.")) from None

    def validate(self, value):
        if not value:
            raise forms.ValidationError(_("Select at least one message."))


class BulkActionForm(forms.Form):
    action = forms.ChoiceField(choices=[(k, v[0]) for k, v in ACTIONS.items()])
    ids = MessageIdsField()
    folder = forms.ChoiceField(choices=Folder.choices, required=False)
    # Only for "move_to" and "move" (Undo): where the messages go; never Trash. An own
    # folder is "user:<id>", one of the user's folders only.
    target = forms.ChoiceField(
        choices=[(v, label) for v, label in Folder.choices if v not in (Folder.TRASH, Folder.USER)],
        required=False,
    )
    confirm = forms.BooleanField(required=False)

    # The "With selected" menu's Apply button: the action is the menu's choice. The menu
    # has its own name, so without JavaScript a toolbar button (action=archive, …) is not
    # overridden by the menu's value, which the browser submits with every button.
    MENU = "menu"

    def __init__(self, data=None, *args, user=None, everything=None, **kwargs):
        if data is not None and data.get("action") == self.MENU:
            data = data.copy()
            data["action"] = data.get("menu_action", "")
        super().__init__(data, *args, **kwargs)
        # "Select all" (mailbox.selection.Everything): the server's set, not posted ids.
        self.everything = everything
        if everything is not None:
            del self.fields["ids"]
        if user is not None:
            own = [(n.key, n.path) for n in folders.flat(user)]
            self.fields["folder"].choices = [*self.fields["folder"].choices, *own]
            self.fields["target"].choices = [*self.fields["target"].choices, *own]

    @staticmethod
    def actions_for(folder: str) -> list[tuple[str, str]]:
        if folder == Folder.TRASH:
            names = ["restore", "delete_forever", "mark_read", "mark_unread"]
        else:
            names = [k for k in ACTIONS if k not in TRASH_ONLY and k not in TARGETED]
            if folder == Folder.ARCHIVE:
                names = [n for n in names if n != "archive"]
            elif folder in (Folder.INBOX, Folder.SNOOZED, Folder.JUNK):
                # In Snoozed and Junk, Unsnooze and Not junk are the way to the Inbox.
                names = [n for n in names if n != "inbox"]
            names = [n for n in names if FOLDER_ONLY.get(n, folder) == folder]
            if folder == Folder.JUNK:
                names.append("delete_forever")
        return [(name, ACTIONS[name][0]) for name in names]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == "delete_forever" and not cleaned.get("confirm"):
            raise forms.ValidationError(
                _("Deleting forever cannot be undone: tick “Yes, delete forever” to confirm.")
            )
        if cleaned.get("action") in TARGETED and not cleaned.get("target"):
            self.add_error("target", _("Choose the folder to move the messages to."))
        return cleaned

    def apply(self, owner) -> int:
        action = self.cleaned_data["action"]
        _label, function, _done = ACTIONS[action]
        target = self.cleaned_data.get("target")
        if self.everything is not None:
            return self.everything.run(function, owner, target, chunked=action in CHUNKED)
        return function(owner, self.cleaned_data["ids"], target)

    def acted_ids(self) -> list[int]:
        """The ids acted on, as far as known (a large "select all" knows none)."""
        if self.everything is not None:
            return self.everything.ids or []
        return self.cleaned_data["ids"]

    def done_message(self, count: int) -> str:
        values = {"n": count}
        if self.cleaned_data["action"] == "move_to":
            values["folder"] = dict(self.fields["target"].choices).get(
                self.cleaned_data["target"], ""
            )
        return ACTIONS[self.cleaned_data["action"]][2](count) % values

    def has_inverse(self) -> bool:
        return UNDO.get(self.cleaned_data["action"], (None, None))[0] is not None

    def undo(self) -> dict | None:
        """The inverse action for the toast's Undo button, or None if there is none."""
        action = self.cleaned_data["action"]
        inverse, _target = UNDO.get(action, (None, None))
        if inverse is None or (self.everything and self.everything.too_many_to_undo):
            return None
        undo = {"action": inverse, "ids": self.acted_ids()}
        if inverse == "move":
            # Back where they were: the folder the action was taken in.
            undo["target"] = self.cleaned_data.get("folder") or Folder.INBOX
        return undo


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def _address_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text=_("Separate several addresses with commas."),
    )


def sender_key(account, send_as=None) -> str:
    """The From select's value: the account's id, or "account:alias" for a send-as address."""
    account_id = getattr(account, "pk", account)
    if account_id in (None, ""):
        return ""
    alias_id = getattr(send_as, "pk", send_as)
    return f"{account_id}:{alias_id}" if alias_id else str(account_id)


class SenderAccountField(forms.ModelChoiceField):
    """An account given as a From select value (``sender_key``): the alias part is ignored."""

    def to_python(self, value):
        return super().to_python(str(value).partition(":")[0] if value else value)


class ComposeForm(forms.Form):
    # From: each account ("Name <address>"), each followed by its send-as addresses.
    # Cleans to the MailAccount; the chosen alias (or None) is cleaned_data["send_as"].
    account = forms.ChoiceField(label=_("From"))
    to = _address_field(_("To"))
    cc = _address_field(_("Cc"))
    bcc = _address_field(_("Bcc"))
    subject = forms.CharField(label=_("Subject"), required=False, strip=False)
    body = forms.CharField(
        label=_("Body"), required=False, strip=False, widget=forms.Textarea(attrs={"rows": 16})
    )
    # Rich text (static/js/editor.js fills it; empty: a plain-text message). Never trusted:
    # clean() sanitizes it and derives `body` from it (mailbox.rich_compose).
    html_body = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)
    signature = forms.ChoiceField(
        label=_("Signature"),
        required=False,
        widget=forms.Select(attrs={"aria-describedby": "signature-help"}),
    )
    # The signature the text holds now: a different choice above swaps it on Save/Send.
    signature_shown = forms.CharField(required=False, widget=forms.HiddenInput)
    # The From choice the signature was last set for: another one brings its signature.
    sender_shown = forms.CharField(required=False, widget=forms.HiddenInput)
    attachments = MultipleFileField(label=_("Attach files"), required=False)
    remove_attachments = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Remove attachments"),
    )
    request_dsn = forms.BooleanField(
        label=_("Request delivery status notification"), required=False
    )
    request_read_receipt = forms.BooleanField(label=_("Request read receipt"), required=False)

    def __init__(self, *args, user, outgoing=None, **kwargs):
        super().__init__(*args, **kwargs)
        from .models import OutgoingAttachment

        self.user = user
        self.outgoing = outgoing
        self._senders = {}
        for account in user.mail_accounts.filter(enabled=True).prefetch_related("send_as"):
            self._senders[sender_key(account)] = (account, None, account.from_header)
            for alias in account.send_as.all():
                self._senders[sender_key(account, alias)] = (account, alias, alias.from_header)
        self.fields["account"].choices = [(key, s[2]) for key, s in self._senders.items()]
        self.initial = {
            **self.initial,
            "account": sender_key(self.initial.get("account"), self.initial.get("send_as")),
        }
        existing = (
            OutgoingAttachment.objects.filter(outgoing=outgoing)
            if outgoing
            else OutgoingAttachment.objects.none()
        )
        self.fields["remove_attachments"].queryset = existing
        self.fields["remove_attachments"].label_from_instance = lambda a: (
            f"{a.filename} ({file_size(a.size)})"
        )
        self.max_bytes = settings.WEBMAIL_MAX_ATTACHMENT_BYTES
        self.fields["attachments"].widget.attrs["data-max-bytes"] = self.max_bytes
        self._signatures = {
            str(s.pk): s
            for s in Signature.objects.filter(account__user=user, account__enabled=True)
            .select_related("account")
            .order_by("account__email", "position", "pk")
        }
        several = len({s.account_id for s in self._signatures.values()}) > 1
        self.fields["signature"].choices = [("", _("No signature"))] + [
            (pk, f"{s.name} ({s.account.email})" if several else s.name)
            for pk, s in self._signatures.items()
        ]

    def sender_signatures(self) -> dict[str, str]:
        """The signature (its pk, or "") each From choice brings: the send-as address's
        own, else its account's default for new messages, or for replies and forwards
        when the draft is one (static/js/editor.js and `_follow_sender`)."""
        replying = bool(self.outgoing and (self.outgoing.in_reply_to or self.outgoing.is_forward))
        flag = "default_for_replies" if replying else "default_for_new"
        defaults = {}
        for pk, signature in self._signatures.items():
            if getattr(signature, flag):
                defaults.setdefault(signature.account_id, pk)
        chosen = {}
        for key, (account, alias, _label) in self._senders.items():
            own = str(alias.signature_id) if alias and alias.signature_id else ""
            chosen[key] = own if own in self._signatures else defaults.get(account.pk, "")
        return chosen

    def _follow_sender(self, cleaned) -> None:
        """Another From than the page showed sets the signature to that From's (the
        no-JavaScript path of the From menu), unless the signature select was changed
        too: the user's own pick then stands."""
        shown = cleaned.get("sender_shown") or ""
        if "account" not in cleaned or not shown:
            return
        key = sender_key(cleaned["account"], cleaned.get("send_as"))
        if key == shown:
            return
        cleaned["sender_shown"] = key
        if (cleaned.get("signature") or "") == (cleaned.get("signature_shown") or ""):
            cleaned["signature"] = self.sender_signatures().get(key, "")

    def _clean_addresses(self, name: str) -> str:
        value = self.cleaned_data.get(name, "")
        try:
            addresses.parse_address_list(value)
        except addresses.AddressError as exc:
            raise forms.ValidationError(
                _("“%(item)s” is not a valid email address.") % {"item": exc.item}
            ) from None
        return value

    def clean_account(self):
        account, alias, _label = self._senders[self.cleaned_data["account"]]
        self.cleaned_data["send_as"] = alias
        return account

    def clean_to(self):
        return self._clean_addresses("to")

    def clean_cc(self):
        return self._clean_addresses("cc")

    def clean_bcc(self):
        return self._clean_addresses("bcc")

    def clean_subject(self):
        subject = self.cleaned_data["subject"]
        if hides_or_holds_controls(subject):
            # Header injection: a CR or LF would start a new header (also one that an
            # encoded word, however deeply nested, decodes to).
            raise forms.ValidationError(_("The subject cannot contain line breaks."))
        return subject.strip()

    def _clean_rich_text(self, cleaned) -> None:
        html = cleaned.get("html_body") or ""
        # The user's signature images in the text become the draft's (outbox.save_draft).
        images = cleaned["signature_images"] = rich_compose.SignatureImages(
            self.user, self.outgoing
        )
        if html.strip():
            cleaned["html_body"], cleaned["body"] = rich_compose.clean_html(
                self.outgoing, html, images
            )
        else:
            cleaned["html_body"] = ""
        self._follow_sender(cleaned)
        chosen = self._signatures.get(cleaned.get("signature") or "")
        shown = self._signatures.get(cleaned.get("signature_shown") or "")
        if chosen != shown and "body" in cleaned:
            cleaned["body"], cleaned["html_body"] = rich_compose.swap_signature(
                cleaned["body"], cleaned["html_body"], shown, chosen, images
            )
            cleaned["signature_shown"] = cleaned.get("signature") or ""

    def clean(self):
        cleaned = super().clean()
        self._clean_rich_text(cleaned)
        removed = {a.pk for a in cleaned.get("remove_attachments") or []}
        kept = sum(
            a.size for a in self.fields["remove_attachments"].queryset if a.pk not in removed
        )
        total = kept
        for upload in cleaned.get("attachments") or []:
            # Each file on its own; the total is checked below, with one message for all.
            error = attachment_limit_error(upload.name, upload.size, 0, self.max_bytes)
            if error:
                self.add_error("attachments", error)
            total += upload.size
        if total > self.max_bytes and not self.has_error("attachments"):
            self.add_error(
                "attachments",
                _("Attachments total %(total)s, over the %(limit)s limit.")
                % {"total": file_size(total), "limit": file_size(self.max_bytes)},
            )
        return cleaned

    def require_recipients(self) -> bool:
        """For Send: at least one recipient; adds the error and returns False if none."""
        if any(self.cleaned_data.get(f) for f in ("to", "cc", "bcc")):
            return True
        self.add_error("to", _("Add at least one recipient (To, Cc or Bcc)."))
        return False


def attachment_limit_error(name: str, size: int, already: int, limit: int) -> str:
    """Why one more file of `size` bytes cannot join `already` attached bytes, or ""."""
    if size > limit:
        return _("“%(name)s” is larger than the %(limit)s limit.") % {
            "name": name,
            "limit": file_size(limit),
        }
    if already + size > limit:
        return _(
            "“%(name)s” would bring the attachments to %(total)s, over the %(limit)s limit."
        ) % {
            "name": name,
            "total": file_size(already + size),
            "limit": file_size(limit),
        }
    return ""


class AttachmentUploadForm(forms.Form):
    """One file for a draft, uploaded in the background while the user writes.

    `size` comes after the file in the request body: an upload cut off on the way
    lacks it (or disagrees with it), and is refused instead of stored truncated.
    """

    file = forms.FileField(label=_("File"), allow_empty_file=True)
    size = forms.IntegerField(min_value=0, required=False)
    account = SenderAccountField(queryset=None, required=False)  # the From select's value

    def __init__(self, *args, user, outgoing=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.outgoing = outgoing
        self.fields["account"].queryset = user.mail_accounts.filter(enabled=True)
        self.max_bytes = settings.WEBMAIL_MAX_ATTACHMENT_BYTES

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload is None:
            return cleaned
        if cleaned.get("size") != upload.size:
            self.add_error("file", _("“%(name)s” did not arrive whole.") % {"name": upload.name})
        elif not upload.size:
            self.add_error("file", _("“%(name)s” is empty.") % {"name": upload.name})
        else:
            already = (
                sum(self.outgoing.attachments.values_list("size", flat=True))
                if self.outgoing
                else 0
            )
            error = attachment_limit_error(upload.name, upload.size, already, self.max_bytes)
            if error:
                self.add_error("file", error)
        return cleaned
