"""A corpus of realistic mail: the mix a mailbox receives, reproducible from a seed.

60% text/plain, 25% multipart/alternative with HTML, 15% with 1-3 attachments of
10 KB-2 MB (log-uniform), about a third Korean (UTF-8, and CP949 labelled EUC-KR),
about 3% malformed. Each message is (kind, raw bytes with CRLF line endings), kind
one of "plain", "alternative", "attachments", "malformed". The ingest benchmark
polls it; the MIME tests parse it both ways.
"""

from __future__ import annotations

import math
import random

from testkit import mailfactory as mf

ENGLISH = (
    "Hi team, following up on yesterday's call about the quarterly numbers. "
    "The draft report is attached; please review the budget section before Friday. "
    "Let me know if the schedule for the release still works for everyone. "
    "We also need the signed contract back from the customer by the end of the month. "
)
KOREAN = (
    "안녕하세요. 어제 회의에서 말씀드린 분기 실적 자료를 공유드립니다. "
    "예산 부분은 금요일 전까지 검토 부탁드립니다. 일정 변경이 있으면 알려주세요. "
    "고객사 계약서는 이번 달 말까지 회신받아야 합니다. 감사합니다. "
)
ATTACHMENT_TYPES = [
    ("report.pdf", "application/pdf"),
    ("photo.jpg", "image/jpeg"),
    ("data.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("archive.zip", "application/zip"),
    ("2024년 1분기 보고서.pdf", "application/pdf"),
]


def _text(rng: random.Random, korean: bool, low: int = 300, high: int = 8000) -> str:
    unit = KOREAN if korean else ENGLISH
    size = int(math.exp(rng.uniform(math.log(low), math.log(high))))
    words = (unit * (size // len(unit) + 1))[:size].split(" ")
    lines, line = [], ""
    for word in words:
        if len(line) + len(word) > 72:
            lines.append(line)
            line = ""
        line += word + " "
    lines.append(line)
    return "\n".join(lines) + "\n"


def _attachment_size(rng: random.Random) -> int:
    return int(math.exp(rng.uniform(math.log(10 * 1024), math.log(2 * 1024 * 1024))))


def make_message(rng: random.Random, i: int) -> tuple[str, bytes]:
    """One realistic message: (kind, raw bytes with CRLF line endings)."""
    korean = rng.random() < 0.35
    subject = (
        f"{'분기 보고서 검토 요청' if korean else 'Quarterly report review'} #{i}"
        if rng.random() < 0.9
        else f"Re: {'회의 일정' if korean else 'meeting schedule'} {i}"
    )
    day = 1 + i % 28
    headers = {
        "message_id": f"<bench-{i}-{rng.getrandbits(32):08x}@example.test>",
        "date": f"Tue, {day:02d} Oct 2026 {i % 24:02d}:{i % 60:02d}:00 +0900",
        "from_": (
            f"{mf.encoded_word('김민수')} <minsoo{i % 50}@example.kr>"
            if korean
            else f"Sender {i % 50} <sender{i % 50}@example.com>"
        ),
    }
    roll = rng.random()
    if roll < 0.03:  # malformed
        kind = rng.choice(["bad_base64", "no_boundary", "garbage_addresses", "unknown_charset"])
        raw = getattr(mf, kind)()
        raw = raw.replace(mf.DEFAULT_MESSAGE_ID.encode(), headers["message_id"].encode())
        return "malformed", raw
    if roll < 0.60:
        if korean and rng.random() < 0.4:
            body = mf.text_part(_text(rng, True), charset="cp949", label="euc-kr", cte="base64")
            subject = mf.encoded_word(subject, "cp949", label="euc-kr")
        else:
            body = mf.text_part(_text(rng, korean))
            subject = mf.encoded_word(subject) if korean else subject
        return "plain", mf.message(body, subject=subject, **headers)
    text = _text(rng, korean)
    html = "".join(f"<p>{line}</p>" for line in text.splitlines())
    html = f'<html><body><div style="font-family:sans-serif">{html}</div></body></html>'
    subject = mf.encoded_word(subject) if korean else subject
    alternative = mf.multipart(
        "alternative", mf.text_part(text), mf.text_part(html, "html", cte="quoted-printable")
    )
    if roll < 0.85:
        return "alternative", mf.message(alternative, subject=subject, **headers)
    parts = []
    for _ in range(rng.randint(1, 3)):
        name, ctype = rng.choice(ATTACHMENT_TYPES)
        data = rng.randbytes(_attachment_size(rng))
        if name.isascii():
            parts.append(mf.attachment_part(data, name, ctype))
        else:
            quoted = "".join(f"%{b:02X}" for b in name.encode())
            params = f";\r\n filename*=utf-8''{quoted}"
            parts.append(mf.attachment_part(data, None, ctype, filename_params=params))
    return "attachments", mf.message(
        mf.multipart("mixed", alternative, *parts), subject=subject, **headers
    )


def corpus(n: int, seed: int = 2026) -> list[tuple[str, bytes]]:
    """`n` realistic messages, the same for the same seed: [(kind, raw bytes)]."""
    rng = random.Random(seed)
    return [make_message(rng, i) for i in range(n)]
