"""parse_message: a message's parts sorted into bodies and attachments.

Body selection rules:

* The first inline ``text/plain`` part (no filename, not ``attachment``) is the
  text body and the first inline ``text/html`` part is the HTML body. A
  single-part message is its own body even when the sender named it, and so is
  the first text part of a message that is inline (explicitly or by having no
  disposition) though named, as ``get_body()``, Thunderbird and Apple Mail show
  it; it is also listed as an attachment under its name.
* Later inline parts of the same kind are appended when they sit directly in a
  ``multipart/mixed`` (mailing-list footers, Apple Mail's text/image/text
  splits) or belong to a different ``multipart/alternative`` group; further
  renderings inside the alternative group that already gave a body are dropped.
* Everything else that carries data becomes an :class:`Attachment`;
  ``message/*`` parts become ``.eml`` attachments named after their subject.
  Every attachment is the slice of the raw message between its boundaries
  (transfer-decoded); a ``message/*`` part is never parsed and written back.
* Parts inside an attached message are that message's own: never a body here.
  What search needs of it (sender, subject, text) is read into
  ``ParsedMessage.attached``, to MAX_ATTACHED_DEPTH levels: its text parts are
  decoded, its other parts are not.
* ``x-uuencode`` parts are decoded like base64 ones (named by their ``begin`` line if
  the headers give no name); ``begin 644 name`` … ``end`` blocks inside a text/plain
  body become attachments marked ``derived`` (their bytes are no slice of the raw
  message) and the body keeps the text around them.
* The signature part of ``multipart/signed`` (S/MIME or OpenPGP) is no attachment;
  ``ParsedMessage.protection`` says the message is signed (or encrypted), unverified.
* A winmail.dat (``application/ms-tnef``) stays an attachment as it came, followed by
  the files inside it (``derived``); its HTML, text or RTF body is the message's body
  when the message has no other.
* ``Attachment.inline`` is only ever true for images (disposition ``inline``,
  or a Content-ID inside ``multipart/related``): an "inline" PDF cannot be
  shown in the body, so it must still count for ``has_attachments``.

Also here: the names attachments get on disk (:func:`safe_filename`).
"""

from __future__ import annotations

import binascii
import mimetypes
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import Message

from . import smime, tnef, uu
from .b64 import b64decode
from .charsets import decode_charset
from .headers import MIME_TYPE, decode_header, decode_header_text, header_map, structured
from .message import (
    AttachedMessage,
    Attachment,
    ParsedMessage,
    blank_message,
    fill_headers,
    parse_headers,
)
from .structure import (
    PARSER,
    as_bytes,
    collect_defects,
    content_type,
    fast_split,
    header_end,
    raw_payload,
    reread_colonless_parts,
    skip_colonless_lines,
)
from .text import html_to_text

MAX_FILENAME_CHARS = 150
# Most filesystems cap a name at 255 bytes; 150 Hangul characters are 450 bytes.
MAX_FILENAME_BYTES = 255
# Attached messages read for search (ParsedMessage.attached): how deep, how many in
# all, and how much of each one's text.
MAX_ATTACHED_DEPTH = 8
MAX_ATTACHED = 50
MAX_ATTACHED_TEXT = 20_000
MESSAGE_TYPES = ("message/rfc822", "message/global")


@dataclass(slots=True)
class _Reading:
    """How deep in attached messages a parse is, and how many more it may read."""

    depth: int = 0
    left: int = MAX_ATTACHED


def parse_message(raw: bytes, received_at: datetime | None = None) -> ParsedMessage:
    """Parse a complete message. Never raises; problems are listed in ``defects``."""
    return _parse(raw, received_at, _Reading())


def _parse(raw: bytes, received_at: datetime | None, reading: _Reading) -> ParsedMessage:
    raw = as_bytes(raw)
    msg = fast_split(raw)
    if msg is not None:
        result = blank_message(received_at)
        headers = header_map(msg)
        hint = fill_headers(result, headers, _text_charsets(msg))
        _Walker(result, hint, raw, reading).walk(msg, headers)
        return result
    return _parse_message_stdlib(raw, received_at, reading)


def _text_charsets(root: Message) -> Iterator[str]:
    """Declared charsets of the text parts below ``root``, in order (not inside
    attached messages: those are opaque leaves). The header hint tries them in turn."""
    stack = [root]
    while stack:
        part = stack.pop()
        payload = part._payload
        if isinstance(payload, list):
            stack.extend(reversed([c for c in payload if isinstance(c, Message)]))
        elif part is not root and content_type(part).startswith("text/"):
            try:
                charset = structured(str(part.get("content-type")), None)[1].get("charset")
            except Exception:  # noqa: BLE001 - a broken label only loses this hint
                charset = None
            if charset:
                yield charset


def _parse_message_stdlib(
    raw: bytes, received_at: datetime | None = None, reading: _Reading | None = None
) -> ParsedMessage:
    """parse_message via the stdlib parser for the whole message (the reference path)."""
    try:
        end = header_end(raw)
        block, skipped = skip_colonless_lines(raw[:end])
        msg = PARSER.parsebytes(block + raw[end:] if skipped else raw)
        msg.skipped_lines = skipped  # type: ignore[attr-defined]
        reread_colonless_parts(msg)
    except Exception as exc:  # noqa: BLE001 - e.g. RecursionError on absurd nesting
        result = parse_headers(raw, received_at)
        result.defects.append(
            f"message: MIME structure could not be parsed ({type(exc).__name__}); "
            "body kept as plain text"
        )
        text, defect = decode_charset(raw[header_end(raw) :], None)
        result.text_body = _normalise_body(text)
        if defect:
            result.defects.append(f"message: {defect}")
        return result
    result = blank_message(received_at)
    headers = header_map(msg)
    hint = fill_headers(result, headers, _text_charsets(msg))
    _Walker(result, hint, raw, reading or _Reading()).walk(msg, headers)
    return result


def _encoding_name(cte: str | None) -> str:
    return (decode_header_text(cte).lower().split() or [""])[0].strip(";")


def _transfer_decode(data: bytes, cte: str | None, where: str, defects: list[str]) -> bytes:
    encoding = _encoding_name(cte)
    if encoding == "base64":
        decoded, defect = b64decode(data)
        if defect:
            defects.append(f"{where}: {defect}")
        return decoded
    if encoding == "quoted-printable":
        return binascii.a2b_qp(data)
    if encoding in uu.TRANSFER_ENCODINGS:
        return uu.decode_part(data)[1]
    if encoding not in ("", "7bit", "8bit", "binary", "7-bit", "8-bit"):
        defects.append(f"{where}: unknown transfer encoding {encoding!r}; kept undecoded")
    return data


_META_CHARSET = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)


def _normalise_body(text: str) -> str:
    text = text.removeprefix("\ufeff")  # a BOM would lead every snippet
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        text = text.replace("\x00", "")  # PostgreSQL text cannot hold NUL
    return text


_EXTENSIONS = {
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "application/gzip": ".gz",
    "application/json": ".json",
    "application/xml": ".xml",
    "application/msword": ".doc",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.ms-powerpoint": ".ppt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/x-hwp": ".hwp",
    "application/haansofthwp": ".hwp",
    "application/vnd.hancom.hwp": ".hwp",
    "application/rtf": ".rtf",
    "application/pgp-signature": ".asc",
    "application/pgp-encrypted": ".asc",
    "application/pkcs7-signature": ".p7s",
    "application/x-pkcs7-signature": ".p7s",
    "application/pkcs7-mime": ".p7m",
    "application/x-pkcs7-mime": ".p7m",
    "application/ms-tnef": ".dat",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
    "image/svg+xml": ".svg",
    "image/tiff": ".tif",
    "image/heic": ".heic",
    "audio/mpeg": ".mp3",
    "video/mp4": ".mp4",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "text/csv": ".csv",
    "text/vcard": ".vcf",
    "text/x-vcard": ".vcf",
    "text/rtf": ".rtf",
    "message/rfc822": ".eml",
    "message/global": ".eml",
}


# Python's own table only (not the host's /etc/mime.types): the same answer everywhere.
_MIMETYPES = mimetypes.MimeTypes()


def _guess_type(name: str) -> str:
    """The content type a derived file's name suggests (no sniffing of its bytes)."""
    ctype = _MIMETYPES.guess_type(name, strict=False)[0] or "application/octet-stream"
    return ctype if MIME_TYPE.fullmatch(ctype) else "application/octet-stream"


def _extension(content_type: str) -> str:
    ext = _EXTENSIONS.get(content_type)
    if ext:
        return ext
    return ".txt" if content_type.startswith(("text/", "message/")) else ".bin"


# A delimiter line (RFC 2046 bchars) as the first non-blank line of a multipart body.
_FIRST_DELIMITER = re.compile(rb"(?:[ \t]*\r?\n)*--([0-9A-Za-z'()+_,./:=?-]{1,70})[ \t]*\r?\n")


def _children_without_boundary(part: Message) -> tuple[str, Message] | None:
    """A multipart with no boundary parameter whose body clearly starts with a
    ``--boundary`` line that comes back later: the part re-read with that boundary.

    Only header text is made up; the children's payloads are still slices of the body.
    """
    body = raw_payload(part)
    match = _FIRST_DELIMITER.match(body)
    if match is None:
        return None
    token = match.group(1).removesuffix(b"--")
    if not token or token != match.group(1):
        return None  # a close delimiter first is no evidence of a boundary
    again = re.compile(rb"\n--" + re.escape(token) + rb"(?:--)?[ \t]*(?:\r?\n|\Z)")
    if again.search(body, match.end() - 1) is None:
        return None
    head = b'Content-Type: multipart/mixed; boundary="' + token + b'"\r\n\r\n'
    rebuilt = PARSER.parsebytes(head + body)
    if not rebuilt.is_multipart():
        return None
    return token.decode("ascii"), rebuilt


def _subject_of(data: bytes, hint: str | None) -> str:
    """The decoded Subject of an attached message (its own header block only)."""
    try:
        headers = header_map(PARSER.parsebytes(data[: header_end(data)], headersonly=True))
    except Exception:  # noqa: BLE001 - a name is a nicety; never fail the part for it
        return ""
    return decode_header(headers.get("subject"), hint)


def _clean_id(value: str | None) -> str:
    text = "".join(decode_header_text(value).split())
    return text[1:-1] if text.startswith("<") and text.endswith(">") else text.strip("<>")


@dataclass(frozen=True, slots=True)
class _Context:
    path: str  # "" for the root, else "1.2" (IMAP-style section numbers)
    parent_subtype: str  # subtype of the enclosing multipart, "" at the root
    in_related: bool
    # (path, branch index) of every enclosing multipart/alternative, outermost first.
    alts: tuple[tuple[str, int], ...]

    @property
    def where(self) -> str:
        return f"part {self.path}" if self.path else "message"

    def child(self, index: int, subtype: str) -> _Context:
        path = f"{self.path}.{index}" if self.path else str(index)
        alts = (*self.alts, (self.path, index)) if subtype == "alternative" else self.alts
        return _Context(path, subtype, self.in_related or subtype == "related", alts)


class _Walker:
    """Iterative depth-first walk (no recursion limit) sorting parts into bodies/attachments."""

    def __init__(
        self, result: ParsedMessage, hint: str | None, raw: bytes, reading: _Reading
    ) -> None:
        self.result = result
        self.raw = raw
        self.reading = reading
        # An attached message read for search: its text bodies only, no files.
        self.texts_only = reading.depth > 0
        # path of a multipart/signed -> the exact bytes of its signed (first) part.
        self.signed_content: dict[str, bytes] = {}
        self.defects = result.defects
        self.hint = hint
        self.text: list[str] = []
        self.html: list[str] = []
        # (alternative path, body kind) -> branch of that alternative which supplied it.
        self.alt_owner: dict[tuple[str, str], int] = {}
        self.tnef_bodies: list[tuple[str, str]] = []  # (html, text) found inside winmail.dat

    def walk(self, root: Message, root_headers: dict[str, str]) -> None:
        stack: list[tuple[Message, _Context]] = [(root, _Context("", "", False, ()))]
        while stack:
            part, ctx = stack.pop()
            try:
                headers = root_headers if part is root else header_map(part)
                children = self._visit(part, headers, ctx)
            except Exception as exc:  # noqa: BLE001 - one bad part must not lose the rest
                self.defects.append(f"{ctx.where}: could not be processed ({type(exc).__name__})")
                children = self._salvage(part, ctx)
            stack.extend(reversed(children))
        if self.tnef_bodies and not self.html and not "".join(self.text).strip():
            html, text = self.tnef_bodies[0]
            self.html = [_normalise_body(html)] if html else []
            self.text = [_normalise_body(text)] if text else []
        self.result.text_body = "\n\n".join(self.text)
        self.result.html_body = "\n".join(self.html)

    def _visit(
        self, part: Message, headers: dict[str, str], ctx: _Context
    ) -> list[tuple[Message, _Context]]:
        collect_defects(part, ctx.where, self.defects)
        ctype = content_type(part)
        if not MIME_TYPE.fullmatch(ctype):
            ctype = "application/octet-stream"  # it ends up in HTTP headers; keep it a token
        if ctype.startswith("message/"):
            self._message_attachment(part, ctype, headers, ctx)
            return []
        if ctype.startswith("multipart/") and not part.is_multipart():
            found = _children_without_boundary(part)
            if found is not None:
                token, rebuilt = found
                self.defects.append(
                    f"{ctx.where}: multipart without a boundary parameter; "
                    f"split on its first line --{token}"
                )
                collect_defects(rebuilt, ctx.where, self.defects)
                part = rebuilt
        if not part.is_multipart():
            self._leaf(part, ctype, headers, ctx)
            return []
        subtype = ctype.partition("/")[2]
        if subtype == "encrypted" and not self.result.protection:
            self.result.protection = "pgp-encrypted"
        if subtype == "signed" and self.raw:
            content = _first_part_bytes(self.raw, part.get_boundary())
            if content is not None:
                self.signed_content[ctx.path] = content
        children = [c for c in part.get_payload() if isinstance(c, Message)]
        return [(child, ctx.child(i, subtype)) for i, child in enumerate(children, 1)]

    def _leaf(self, part: Message, ctype: str, headers: dict[str, str], ctx: _Context) -> None:
        if self.texts_only and ctype not in ("text/plain", "text/html"):
            return
        disposition, disp_params = structured(headers.get("content-disposition"), self.hint)
        _, type_params = structured(headers.get("content-type"), self.hint)
        if ctx.parent_subtype == "signed" and ctype in _SIGNATURE_TYPES:
            # The signature of multipart/signed is no file of the user's: it stays in the
            # raw message, and the message says it is signed (not that it verifies).
            if not self.result.protection:
                self.result.protection = _SIGNATURE_TYPES[ctype]
                if self.result.protection == "smime-signed":
                    cte = headers.get("content-transfer-encoding")
                    signature = _transfer_decode(raw_payload(part), cte, ctx.where, self.defects)
                    self._check_smime(signature, ctx)
            return
        if ctype in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
            smime_type = type_params.get("smime-type", "").lower()
            self.result.protection = self.result.protection or (
                "smime-signed" if smime_type == "signed-data" else "smime-encrypted"
            )
        filename = disp_params.get("filename") or type_params.get("name") or ""
        cte = headers.get("content-transfer-encoding")
        if _encoding_name(cte) in uu.TRANSFER_ENCODINGS:
            uu_name, payload = uu.decode_part(raw_payload(part))
            if not filename and uu_name:
                filename = decode_header(uu_name.encode("latin-1"), self.hint)
        else:
            payload = _transfer_decode(raw_payload(part), cte, ctx.where, self.defects)
        if ctype.startswith("multipart/"):
            self.defects.append(
                f"{ctx.where}: multipart body without a usable boundary; kept as text"
            )
            ctype = "text/plain"
        kind = ctype[5:] if ctype in ("text/plain", "text/html") else ""
        # A single-part message is its own body even if the sender gave it a filename.
        if kind and disposition != "attachment" and (not filename or not ctx.path):
            decision = self._body_decision(kind, ctx)
            if decision == "drop":
                return
            if decision == "take":
                self._add_body(kind, payload, type_params.get("charset"), ctx)
                return
        elif kind and disposition != "attachment" and not self.text and not self.html:
            # The first inline text part is the body even when it is named (as in
            # get_body(), Thunderbird and Apple Mail); it stays downloadable by its name.
            if self._body_decision(kind, ctx) == "take":
                self._add_body(kind, payload, type_params.get("charset"), ctx)
        cid = _clean_id(headers.get("content-id"))
        # Only images are shown inside the body; an "inline" PDF must still count as attachment.
        inline = ctype.startswith("image/") and (
            disposition == "inline" or (bool(cid) and ctx.in_related)
        )
        if tnef.is_tnef(ctype, filename, payload):
            self._add_attachment(
                filename or "winmail.dat", filename or "winmail.dat", ctype, cid, False, payload
            )
            self._tnef_contents(payload, ctx)
            return
        self._add_attachment(filename, filename, ctype, cid, inline, payload)

    def _tnef_contents(self, payload: bytes, ctx: _Context) -> None:
        """The files inside winmail.dat as (derived) attachments; its body is kept for a
        message that has no other."""
        content = tnef.read(payload)
        if content is None or not (content.files or content.html or content.text):
            self.defects.append(f"{ctx.where}: winmail.dat could not be read; kept as it is")
            return
        self.defects.extend(f"{ctx.where}: {defect}" for defect in content.defects)
        for file in content.files:
            self._add_attachment(
                file.name, file.name, _guess_type(file.name), "", False, file.data, derived=True
            )
        if content.html or content.text:
            self.tnef_bodies.append((content.html, content.text))

    def _check_smime(self, signature: bytes, ctx: _Context) -> None:
        content = self.signed_content.get(ctx.path.rpartition(".")[0])
        if content is None:
            return
        check = smime.verify_detached(content, signature)
        self.result.signer = check.signer
        if check.status != "unchecked":
            self.result.protection = f"smime-{check.status}"

    def _body_decision(self, kind: str, ctx: _Context) -> str:
        owners = [self.alt_owner.get((path, kind)) for path, _ in ctx.alts]
        if any(
            o is not None and o != branch for o, (_, branch) in zip(owners, ctx.alts, strict=True)
        ):
            return "drop"  # another rendering of a body this alternative already gave
        target = self.text if kind == "plain" else self.html
        new_group = bool(ctx.alts) and all(o is None for o in owners)
        if target and ctx.parent_subtype != "mixed" and not new_group:
            return "attach"
        for path, branch in ctx.alts:
            self.alt_owner.setdefault((path, kind), branch)
        return "take"

    def _add_body(self, kind: str, payload: bytes, charset: str | None, ctx: _Context) -> None:
        if kind == "html" and not charset and not payload.isascii():
            match = _META_CHARSET.search(payload, 0, 4096)
            charset = match.group(1).decode("ascii") if match else None
        text, defect = decode_charset(payload, charset)
        if defect:
            self.defects.append(f"{ctx.where}: {defect}")
        text = _normalise_body(text)
        if kind == "plain" and "begin " in text:
            text = self._uuencoded_files(text)
        (self.text if kind == "plain" else self.html).append(text)

    def _uuencoded_files(self, text: str) -> str:
        """``begin 644 name`` … ``end`` blocks in a text body become (derived)
        attachments; the body keeps the text around them."""
        blocks = uu.find_blocks(text)
        for block in blocks:
            name = decode_header(block.name.encode("utf-8", "surrogateescape"), self.hint)
            self._add_attachment(name, name, _guess_type(name), "", False, block.data, derived=True)
        return uu.without_blocks(text, blocks) if blocks else text

    def _message_attachment(
        self, part: Message, ctype: str, headers: dict[str, str], ctx: _Context
    ) -> None:
        # The exact octets between the part's boundaries (the parser keeps message/*
        # parts opaque): never re-serialised, so what was sent is what is stored.
        data = raw_payload(part)
        cte = decode_header_text(headers.get("content-transfer-encoding")).lower()
        if cte.startswith(("base64", "quoted-printable")):
            # Not allowed by RFC 2046 but seen: decode it like any other part.
            data = _transfer_decode(data, cte, ctx.where, self.defects)
        if ctype in MESSAGE_TYPES:
            self._read_attached(data)
        if self.texts_only:
            return
        subject = ""
        if ctype in ("message/rfc822", "message/global"):
            subject = _subject_of(data, self.hint)
        disposition_params = structured(headers.get("content-disposition"), self.hint)[1]
        type_params = structured(headers.get("content-type"), self.hint)[1]
        filename = disposition_params.get("filename") or type_params.get("name") or ""
        disk_name = filename
        if not filename and subject and ctype in ("message/rfc822", "message/global"):
            filename = f"{subject}.eml"
            disk_name = filename.replace("/", "_").replace("\\", "_")  # a subject is no path
        self._add_attachment(filename, disk_name, ctype, "", False, data)

    def _read_attached(self, data: bytes) -> None:
        """What search needs of an attached message, and of the messages attached to
        it, into ``attached``: one parse of its parts, decoding only its text."""
        reading = self.reading
        if reading.depth >= MAX_ATTACHED_DEPTH or reading.left <= 0:
            return
        reading.left -= 1
        reading.depth += 1
        try:
            inner = _parse(data, None, reading)
        finally:
            reading.depth -= 1
        text = inner.text_body or html_to_text(inner.html_body, MAX_ATTACHED_TEXT)
        self.result.attached.append(
            AttachedMessage(inner.subject, inner.from_, text[:MAX_ATTACHED_TEXT], reading.depth + 1)
        )
        self.result.attached.extend(inner.attached)

    def _add_attachment(
        self,
        filename: str,
        disk_name: str,
        ctype: str,
        cid: str,
        inline: bool,
        payload: bytes,
        *,
        derived: bool = False,
    ) -> None:
        if self.texts_only:
            return
        index = len(self.result.attachments) + 1
        generated = f"attachment-{index}{_extension(ctype)}"
        attachment = Attachment(
            filename=filename,
            safe_name=safe_filename(disk_name, default=generated) if disk_name else generated,
            content_type=ctype,
            content_id=cid,
            inline=inline,
            payload=payload,
            derived=derived,
        )
        self.result.attachments.append(attachment)

    def _salvage(self, part: Message, ctx: _Context) -> list[tuple[Message, _Context]]:
        """Keep whatever a failed part holds: its children, or its raw bytes as an attachment."""
        payload = getattr(part, "_payload", None)
        if isinstance(payload, list):
            children = [c for c in payload if isinstance(c, Message)]
            return [(child, ctx.child(i, "mixed")) for i, child in enumerate(children, 1)]
        data = raw_payload(part)
        if data:
            self._add_attachment("", "", "application/octet-stream", "", False, data)
        return []


def _first_part_bytes(raw: bytes, boundary: str | None) -> bytes | None:
    """The exact octets of a multipart's first part (what a multipart/signed signs)."""
    if not boundary or not boundary.isascii():
        return None
    separator = re.escape(b"--" + boundary.encode("ascii"))
    first = re.search(rb"(?:\A|\n)" + separator + rb"[ \t]*\r?\n", raw)
    if first is None:
        return None
    following = re.compile(rb"\r?\n" + separator).search(raw, first.end())
    return raw[first.end() : following.start()] if following else None


_SIGNATURE_TYPES = {
    "application/pkcs7-signature": "smime-signed",
    "application/x-pkcs7-signature": "smime-signed",
    "application/pgp-signature": "pgp-signed",
}

# --------------------------------------------------------------------------- filenames

_PATH_SEPARATORS = re.compile(r"[\\/]")
_ASCII_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
_WINDOWS_ILLEGAL = str.maketrans(dict.fromkeys('<>:"|?*', "_"))
_KEEP_FORMAT_CHARS = frozenset("\u200c\u200d")  # ZWNJ/ZWJ are needed by Persian and emoji
_RESERVED_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"]
    + [f"{port}{n}" for port in ("COM", "LPT") for n in "0123456789\u00b9\u00b2\u00b3"]
)


def safe_filename(name: str, default: str = "attachment") -> str:
    """A name that is safe on POSIX and Windows disks and in HTTP headers; never empty."""
    cleaned = _clean_filename(name) if name else ""
    return cleaned or _clean_filename(default) or "attachment"


def _clean_filename(name: str) -> str:
    name = unicodedata.normalize("NFC", str(name))
    if name.isascii():
        name = _ASCII_CONTROLS.sub("", name)
    else:
        # Controls, bidi overrides ("gpj.exe" spoofing), zero-width and surrogate characters.
        name = "".join(
            ch
            for ch in name
            if unicodedata.category(ch) not in ("Cc", "Cf", "Cs") or ch in _KEEP_FORMAT_CHARS
        )
    parts = [p for p in _PATH_SEPARATORS.split(name) if p.strip()]
    name = parts[-1] if parts else ""
    name = " ".join(name.translate(_WINDOWS_ILLEGAL).split())
    # No hidden files or "..", and Windows silently drops trailing dots and spaces.
    name = name.strip(". ")
    if name.split(".", 1)[0].rstrip().upper() in _RESERVED_NAMES:
        name = "_" + name
    if len(name) > MAX_FILENAME_CHARS or len(name.encode("utf-8")) > MAX_FILENAME_BYTES:
        name = _truncate_filename(name)
    return name


def _truncate_filename(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 16 or " " in ext:
        stem, ext = name, ""
    else:
        ext = "." + ext
    stem = stem[: MAX_FILENAME_CHARS - len(ext)]
    room = MAX_FILENAME_BYTES - len(ext.encode("utf-8"))
    stem = stem.encode("utf-8")[:room].decode("utf-8", "ignore")
    return stem.rstrip(". ") + ext
