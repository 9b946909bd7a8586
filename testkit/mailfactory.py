"""Builders of raw test messages (bytes with CRLF line endings).

Small composable pieces: ``text_part``/``attachment_part``/``multipart`` build MIME
parts (their own headers, a blank line, the body) and ``message`` puts top-level
headers in front of one. The named helpers below (``plain``, ``alternative``,
``korean_*``, malformed ones) cover the cases the parser has to handle. ``mail``
alone is built by the standard library (LF line endings), as a sender's client would.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import random
from collections.abc import Iterable, Sequence
from email.message import EmailMessage

CRLF = b"\r\n"
DEFAULT_FROM = "Alice Example <alice@example.com>"
DEFAULT_TO = "Bob Example <bob@example.com>"
DEFAULT_DATE = "Tue, 05 Mar 2024 10:00:00 +0900"
DEFAULT_MESSAGE_ID = "<test-1@example.com>"

HeaderValue = str | bytes
Headers = Sequence[tuple[str, HeaderValue]]


def crlf(data: str | bytes, charset: str = "utf-8") -> bytes:
    """Encode ``data`` (if text) and normalise every line ending to CRLF."""
    raw = data.encode(charset) if isinstance(data, str) else data
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", CRLF)


def encoded_word(
    text: str, charset: str = "utf-8", encoding: str = "B", *, label: str | None = None
) -> str:
    """One RFC 2047 encoded word: ``text`` encoded with ``charset``, labelled ``label``."""
    data = text.encode(charset)
    if encoding.upper() == "B":
        payload = base64.b64encode(data).decode("ascii")
    else:
        payload = binascii.b2a_qp(data, header=True).decode("ascii").replace("?", "=3F")
    return f"=?{label or charset}?{encoding}?{payload}?="


def split_encoded_words(text: str, charset: str = "utf-8", chunk: int = 5) -> str:
    """Encoded words cut every ``chunk`` bytes, deliberately splitting multibyte characters."""
    data = text.encode(charset)
    words = [
        f"=?{charset}?B?{base64.b64encode(data[i : i + chunk]).decode('ascii')}?="
        for i in range(0, len(data), chunk)
    ]
    return "\r\n ".join(words)  # folded, as real mailers do


def header_block(headers: Iterable[tuple[str, HeaderValue]]) -> bytes:
    """``Name: value`` lines; bytes values are written verbatim (for raw 8-bit headers)."""
    out = b""
    for name, value in headers:
        raw = value if isinstance(value, bytes) else value.encode("utf-8")
        out += name.encode("ascii") + b": " + raw + CRLF
    return out


def encode_body(data: bytes, cte: str) -> bytes:
    if cte == "base64":
        return crlf(base64.encodebytes(data))
    if cte == "quoted-printable":
        return crlf(binascii.b2a_qp(data))
    return crlf(data)


def part(body: bytes, content_type: str, *, cte: str = "8bit", headers: Headers = ()) -> bytes:
    """A MIME part: its headers, a blank line, the transfer-encoded body."""
    head = [("Content-Type", content_type), ("Content-Transfer-Encoding", cte), *headers]
    return header_block(head) + CRLF + encode_body(body, cte)


def text_part(
    text: str,
    subtype: str = "plain",
    *,
    charset: str = "utf-8",
    label: str | None = None,
    cte: str = "8bit",
    headers: Headers = (),
) -> bytes:
    """Text encoded with ``charset`` but labelled ``label`` (defaults to ``charset``)."""
    content_type = f"text/{subtype}; charset={label or charset}"
    return part(text.encode(charset), content_type, cte=cte, headers=headers)


def attachment_part(
    data: bytes,
    filename: str | None = "file.bin",
    content_type: str = "application/octet-stream",
    *,
    disposition: str | None = "attachment",
    content_id: str | None = None,
    filename_params: str | None = None,
    cte: str = "base64",
) -> bytes:
    """An attachment; ``filename_params`` overrides the raw ``; filename=...`` text."""
    if filename_params is None:
        filename_params = f'; filename="{filename}"' if filename is not None else ""
    headers: list[tuple[str, HeaderValue]] = []
    if disposition is not None:
        headers.append(("Content-Disposition", disposition + filename_params))
    if content_id is not None:
        headers.append(("Content-ID", f"<{content_id}>"))
    return part(data, content_type, cte=cte, headers=headers)


def multipart(subtype: str, *parts: bytes, boundary: str | None = None) -> bytes:
    boundary = boundary or f"=_{subtype}_{len(parts)}_{sum(map(len, parts))}"
    out = header_block([("Content-Type", f'multipart/{subtype}; boundary="{boundary}"')]) + CRLF
    out += b"This is a multi-part message in MIME format." + CRLF
    for item in parts:
        out += b"--" + boundary.encode("ascii") + CRLF + item + CRLF
    return out + b"--" + boundary.encode("ascii") + b"--" + CRLF


def message(
    body_part: bytes,
    *,
    subject: HeaderValue | None = "Hello",
    from_: HeaderValue | None = DEFAULT_FROM,
    to: HeaderValue | None = DEFAULT_TO,
    date: HeaderValue | None = DEFAULT_DATE,
    message_id: HeaderValue | None = DEFAULT_MESSAGE_ID,
    headers: Headers = (),
) -> bytes:
    """Top-level headers (None leaves one out) in front of a part built above."""
    top: list[tuple[str, HeaderValue]] = [("MIME-Version", "1.0")]
    for name, value in (
        ("From", from_),
        ("To", to),
        ("Subject", subject),
        ("Date", date),
        ("Message-ID", message_id),
    ):
        if value is not None:
            top.append((name, value))
    return header_block([*top, *headers]) + body_part


# ------------------------------------------------------------------- ready-made messages


def plain(
    subject: HeaderValue | None = "Hello",
    body: str = "Hello, world.\n",
    *,
    from_: HeaderValue | None = DEFAULT_FROM,
    to: HeaderValue | None = DEFAULT_TO,
    charset: str = "utf-8",
    label: str | None = None,
    cte: str = "8bit",
    date: HeaderValue | None = DEFAULT_DATE,
    message_id: HeaderValue | None = DEFAULT_MESSAGE_ID,
    headers: Headers = (),
) -> bytes:
    """A single-part text/plain message. Non-ASCII str subjects become UTF-8 encoded words."""
    if isinstance(subject, str) and not subject.isascii():
        subject = encoded_word(subject)
    return message(
        text_part(body, charset=charset, label=label, cte=cte),
        subject=subject,
        from_=from_,
        to=to,
        date=date,
        message_id=message_id,
        headers=headers,
    )


def html_only(html: str, *, subject: str = "Newsletter", charset: str = "utf-8") -> bytes:
    return message(text_part(html, "html", charset=charset), subject=subject)


def alternative(text: str, html: str, *, subject: str = "Alternative") -> bytes:
    return message(
        multipart("alternative", text_part(text), text_part(html, "html", cte="quoted-printable")),
        subject=subject,
    )


def with_attachments(
    body: str = "See attached.\n",
    attachments: Sequence[tuple[str, str, bytes]] = (("report.pdf", "application/pdf", b"%PDF"),),
    *,
    subject: str = "Files",
) -> bytes:
    """multipart/mixed: a text body followed by (filename, content_type, data) attachments."""
    parts = [attachment_part(data, name, ctype) for name, ctype, data in attachments]
    return message(multipart("mixed", text_part(body), *parts), subject=subject)


def related_inline_image(cid: str = "logo@example.com", image: bytes = b"\x89PNG fake") -> bytes:
    """alternative(text, related(html referencing cid:, image with Content-ID))."""
    html = f'<p>Logo: <img src="cid:{cid}"></p>'
    related = multipart(
        "related",
        text_part(html, "html"),
        attachment_part(image, None, "image/png", disposition=None, content_id=cid),
    )
    return message(multipart("alternative", text_part("Logo attached.\n"), related))


def forwarded(inner: bytes, *, note: str = "Forwarding this.\n") -> bytes:
    """multipart/mixed with the given message attached as message/rfc822."""
    attached = (
        header_block([("Content-Type", "message/rfc822"), ("Content-Disposition", "attachment")])
        + CRLF
        + inner
    )
    return message(multipart("mixed", text_part(note), attached), subject="Fwd: inner")


# ------------------------------------------------------------------------ Korean mail

KOREAN_CP949_ONLY = "똠방각하 햏"  # 똠 and 햏 are CP949 extensions, absent from strict EUC-KR


def korean_euc_kr(text: str = "안녕하세요. " + KOREAN_CP949_ONLY + "\n") -> bytes:
    """Body encoded as CP949 but labelled euc-kr, the way Korean mailers send it."""
    return message(
        text_part(text, charset="cp949", label="euc-kr", cte="base64"),
        subject=encoded_word("보고서 " + KOREAN_CP949_ONLY, "cp949", label="ks_c_5601-1987"),
        from_=f"{encoded_word('홍길동', 'cp949', label='euc-kr')} <hong@example.kr>",
    )


def korean_raw_subject(subject: str = "회의 안내 " + KOREAN_CP949_ONLY) -> bytes:
    """An unencoded 8-bit CP949 Subject header, common from Korean senders."""
    return plain(subject.encode("cp949"), "본문\n")


def korean_filename_rfc2231(
    name: str = "2024년 1분기 보고서.pdf", charset: str = "utf-8", *, label: str | None = None
) -> bytes:
    """Filename in RFC 2231 continuations: filename*0*=label''..; filename*1*=..."""
    quoted = "".join(f"%{b:02X}" for b in name.encode(charset))
    cut = len(quoted) // 2 - (len(quoted) // 2) % 3  # split between %XX escapes
    first, rest = quoted[:cut], quoted[cut:]
    params = f";\r\n filename*0*={label or charset}''{first};\r\n filename*1*={rest}"
    return message(
        multipart(
            "mixed",
            text_part("첨부합니다.\n"),
            attachment_part(b"%PDF-1.4", None, "application/pdf", filename_params=params),
        ),
        subject="RFC 2231",
    )


def korean_filename_rfc2047(name: str = "견적서.xlsx", label: str = "euc-kr") -> bytes:
    """Filename as an RFC 2047 encoded word inside a quoted string (Outlook style)."""
    word = encoded_word(name, "cp949", label=label)
    attached = attachment_part(
        b"PK\x03\x04",
        None,
        f'application/vnd.ms-excel; name="{word}"',
        filename_params=f'; filename="{word}"',
    )
    return message(
        multipart("mixed", text_part("견적서 보내드립니다.\n"), attached), subject="RFC 2047"
    )


# --------------------------------------------------------------------------- malformed


def crlf_injection_subject() -> bytes:
    """An encoded word hiding CR LF, trying to smuggle a Bcc header (CVE-2024-6923 class)."""
    return plain("=?UTF-8?Q?Hello=0D=0ABcc:_x@evil.test?=")


def bad_base64(data: bytes = b"%PDF-1.4 important") -> bytes:
    """An attachment whose base64 has junk characters and a truncated final quantum."""
    broken = base64.b64encode(data)[:-3] + b"!!*\r\n"
    head = [
        ("Content-Type", "application/pdf"),
        ("Content-Transfer-Encoding", "base64"),
        ("Content-Disposition", 'attachment; filename="broken.pdf"'),
    ]
    attached = header_block(head) + CRLF + broken
    return message(multipart("mixed", text_part("Body survives.\n"), attached))


def unknown_charset(text: str = "Grüße aus Köln\n", label: str = "x-unknown") -> bytes:
    return plain("Unknown charset", text, charset="utf-8", label=label)


def garbage_addresses() -> bytes:
    return message(
        text_part("x\n"),
        from_='"Unterminated <evil@example.com>',
        to='no-at-sign, <<<>>>, Friends: carol@example.com, "D, Dave" <dave@example.com>;, @@@',
        headers=[("Cc", "undisclosed-recipients:;")],
    )


def no_boundary() -> bytes:
    """Declared multipart, but no boundary parameter."""
    return message(
        header_block([("Content-Type", "multipart/mixed")]) + CRLF + b"just some text" + CRLF
    )


def deeply_nested(depth: int = 200) -> bytes:
    inner = text_part("deep\n")
    for level in range(depth):
        inner = multipart("mixed", inner, boundary=f"b{level}")
    return message(inner)


def random_bytes(size: int = 4096, seed: int = 1234) -> bytes:
    return random.Random(seed).randbytes(size)


def big_html(size: int = 3 * 1024 * 1024) -> bytes:
    """A single-line HTML body of about ``size`` bytes (no line breaks at all)."""
    unit = "<span>word &amp; more</span> "
    html = (
        "<html><body><p>Start of the big mail.</p>" + unit * (size // len(unit)) + "</body></html>"
    )
    return message(text_part(html, "html"), subject="Big")


def mail(
    subject: str = "Hello",
    body: str = "Body text\n",
    sender: str = "Sender <sender@example.test>",
    attachments: Iterable[tuple[str, str, bytes]] = (),
    message_id: str | None = None,
) -> bytes:
    """A message to alice@example.test from the standard library's EmailMessage.

    The Message-ID follows from the subject unless given; attachments are
    (filename, content type, data).
    """
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "alice@example.test"
    msg["Subject"] = subject
    msg["Date"] = "Thu, 26 Nov 2026 10:00:00 +0900"
    digest = hashlib.sha1(subject.encode(), usedforsecurity=False).hexdigest()
    msg["Message-ID"] = message_id or f"<{digest}@example.test>"
    msg.set_content(body)
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()
