"""Subjects of replies and forwards: exactly one "Re: " or "Fwd: ", never stacked.

Prefixes other clients wrote are recognised in any case, with an optional counter
(``Re[2]:``, ``RE(3):``) and an ASCII or full-width colon:

- reply: Re, Aw, Sv, Antw; 답장, 회신, 답변 (Korean: Outlook writes 회신, older
  clients 답장 or 답변); 回复, 回覆, 答复;
- forward: Fwd, Fw, Wg; 전달 (Korean Outlook); 转发, 轉寄.

We always write "Re: " and "Fwd: ", whatever the interface language. RFC 5322
§3.6.5 suggests "Re: ", Gmail writes the same in its Korean interface, and these are
the prefixes every client (Naver and Daum write "RE:"/"FW:", Korean Outlook
"회신:"/"전달:") recognises, so the recipient's client keeps the thread together. So
a reply to "답장: 회의" or "RE: 회의" is "Re: 회의", never "Re: 답장: 회의".

Tags in brackets ("[external]", "[공지]", a mailing list's "[team]") stay where they
were, and prefixes written after them go too: a reply to "[external] RE: 회의" is
"Re: [external] 회의". The other kind of prefix is kept, as mail clients do: a reply
to "Fwd: 견적" is "Re: Fwd: 견적".
"""

from __future__ import annotations

import re

from .mime.headers import clean_header_text

__all__ = ["forward_subject", "reply_subject"]

_COUNTER_AND_COLON = r"\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*"
_REPLY_PREFIX = re.compile(
    r"\s*(?:re|aw|sv|antw|답장|회신|답변|回复|回覆|答复)" + _COUNTER_AND_COLON, re.I
)
_FORWARD_PREFIX = re.compile(r"\s*(?:fwd|fw|wg|전달|转发|轉寄)" + _COUNTER_AND_COLON, re.I)
_TAG = re.compile(r"\s*(\[[^\[\]\r\n]{1,60}\])\s*")


def _with_prefix(prefix: str, subject: str, own_prefixes: re.Pattern[str]) -> str:
    rest = clean_header_text(subject)
    tags: list[str] = []
    while True:
        if match := own_prefixes.match(rest):
            rest = rest[match.end() :]
        elif match := _TAG.match(rest):
            tags.append(match.group(1))
            rest = rest[match.end() :]
        else:
            break
    return " ".join([prefix, *tags, rest.strip()]).strip()


def reply_subject(subject: str) -> str:
    """``Re: <subject>`` without stacking reply prefixes; always a single clean line."""
    return _with_prefix("Re:", subject, _REPLY_PREFIX)


def forward_subject(subject: str) -> str:
    """``Fwd: <subject>`` without stacking forward prefixes; always a single clean line."""
    return _with_prefix("Fwd:", subject, _FORWARD_PREFIX)
