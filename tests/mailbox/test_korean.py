"""Korean mail as Korean mail clients show it: dates, sizes, names, reply and forward."""

import itertools
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from accounts import formatting
from mailbox import ingest
from mailbox.models import Message, Outgoing
from testkit import mailfactory as mf
from tests.conftest import make_account

SEOUL = ZoneInfo("Asia/Seoul")
_uidls = itertools.count(1)


def store(account, raw: bytes) -> Message:
    return ingest.store_message(account, raw, f"korean-{next(_uidls)}")


@pytest.fixture
def korean_alice(alice):
    alice.language = "ko"
    alice.time_zone = "Asia/Seoul"
    alice.save()
    return alice


# Dates ---------------------------------------------------------------------------


@pytest.fixture
def seoul_evening(monkeypatch):
    """Now is Sunday 8 March 2026, 18:00 in Seoul, and the user's zone is Seoul's."""
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 3, 8, 9, 0, tzinfo=UTC))
    with timezone.override(SEOUL):
        yield


@pytest.mark.usefixtures("seoul_evening")
@pytest.mark.parametrize(
    ("moment", "korean", "english"),
    [
        (datetime(2026, 3, 8, 15, 20, tzinfo=SEOUL), "오후 3:20", "3:20 PM"),
        (datetime(2026, 3, 8, 9, 5, tzinfo=SEOUL), "오전 9:05", "9:05 AM"),
        (datetime(2026, 3, 7, 23, 30, tzinfo=UTC), "오전 8:30", "8:30 AM"),  # today in Seoul
        (datetime(2026, 1, 15, 12, 0, tzinfo=SEOUL), "1월 15일", "Jan 15"),
        (datetime(2024, 3, 8, 12, 0, tzinfo=SEOUL), "2024. 3. 8.", "3/8/2024"),
    ],
)
def test_list_dates_in_korean_and_english_style(moment, korean, english):
    with translation.override("ko"):
        assert formatting.list_date(moment) == korean
    with translation.override("en"):
        assert formatting.list_date(moment) == english


@pytest.mark.parametrize(
    ("language", "expected"),
    [("ko", "2026년 3월 8일 (일) 오후 3:20"), ("en", "Sun, Mar 8, 2026, 3:20 PM")],
)
def test_full_date_in_the_users_zone(language, expected):
    with translation.override(language), timezone.override(SEOUL):
        assert formatting.full_date(datetime(2026, 3, 8, 6, 20, tzinfo=UTC)) == expected


# Sizes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "korean", "english"),
    [
        (1, "1바이트", "1\xa0byte"),
        (500, "500바이트", "500\xa0bytes"),
        (350 * 1024, "350KB", "350\xa0KB"),
        (1_258_291, "1.2MB", "1.2\xa0MB"),
        (64 * 1024, "64KB", "64\xa0KB"),  # no ".0"
        (3 * 1024**3 + 400 * 1024**2, "3.4GB", "3.4\xa0GB"),
    ],
)
def test_sizes_in_korean_and_english_style(size, korean, english):
    with translation.override("ko"):
        assert formatting.file_size(size) == korean
    with translation.override("en"):
        assert formatting.file_size(size) == english


# Pages ---------------------------------------------------------------------------

# From in UTF-8 B, To in EUC-KR Q, Cc with an RFC 2231 language tag and, against
# RFC 2047 as Outlook Express wrote it, a quoted word in ks_c_5601-1987 (CP949).
KOREAN_NAMES = [
    ("From", "=?UTF-8?B?6rmA7KeA7ZiE?= <jihyun@example.kr>"),
    ("To", "=?EUC-KR?Q?=C0=CC=B9=CE=BC=F6?= <minsu@example.kr>, alice@example.test"),
    (
        "Cc",
        "=?UTF-8*ko?B?67CV7ISc7Jew?= <seoyeon@example.kr>,\r\n"
        ' "=?ks_c_5601-1987?B?w9bB9r/s?=" <jiwoo@example.kr>',
    ),
]


def korean_message(subject="회의 안내", attachment=b"x" * (350 * 1024)) -> bytes:
    headers = dict(KOREAN_NAMES)
    return mf.message(
        mf.multipart(
            "mixed",
            mf.text_part("다음 주 회의에서는 예산을 논의합니다.\n"),
            mf.attachment_part(
                attachment,
                None,
                "application/pdf",
                filename_params="; filename*=UTF-8''%EA%B2%AC%EC%A0%81%EC%84%9C.pdf",
            ),
        ),
        subject=mf.encoded_word(subject),
        from_=headers["From"],
        to=headers["To"],
        date="Sun, 08 Mar 2026 15:20:00 +0900",
        headers=[("Cc", headers["Cc"])],
    )


def test_korean_user_sees_korean_dates_names_and_sizes(client, korean_alice):
    account = make_account(korean_alice)
    message = store(account, korean_message())
    client.force_login(korean_alice)

    inbox = client.get(reverse("home")).content.decode()
    assert "<bdi>김지현</bdi>" in inbox

    page = client.get(reverse("read_message", args=[message.pk])).content.decode()
    assert "2026년 3월 8일 (일) 오후 3:20" in page
    assert "350KB" in page
    assert "견적서.pdf" in page
    # Each name isolated for bidirectional text, its address after it.
    assert "<bdi>이민수</bdi> &lt;minsu@example.kr&gt;" in page
    assert "<bdi>박서연</bdi> &lt;seoyeon@example.kr&gt;" in page and "최지우" in page
    assert "=?" not in inbox + page


def test_an_older_message_shows_year_month_and_day_in_korean(client, korean_alice):
    account = make_account(korean_alice)
    raw = mf.plain("작년 메일", "본문\n", date="Fri, 08 Mar 2024 15:20:00 +0900")
    store(account, raw)
    client.force_login(korean_alice)
    assert ">2024. 3. 8.</time>" in client.get(reverse("home")).content.decode()


def test_english_user_sees_english_dates_and_sizes(alice_client, alice):
    alice.time_zone = "Asia/Seoul"
    alice.language = "en"
    alice.save()
    message = store(make_account(alice), korean_message())
    page = alice_client.get(reverse("read_message", args=[message.pk])).content.decode()
    assert "Sun, Mar 8, 2026, 3:20 PM" in page
    assert "350\xa0KB" in page


def draft_from(response) -> Outgoing:
    assert response.status_code == 302
    return Outgoing.objects.get(pk=int(response.url.rstrip("/").rsplit("/", 1)[-1]))


def test_reply_all_prefills_korean_names_and_sends_them_as_encoded_words(
    client, korean_alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = make_account(
        korean_alice,
        smtp_host=server.host,
        smtp_port=server.port,
        smtp_security="none",
        smtp_login="",
        smtp_password="",
    )
    original = store(account, korean_message())
    client.force_login(korean_alice)

    response = client.post(reverse("reply", args=[original.pk]), {"all": "1"})
    draft = draft_from(response)
    assert draft.subject == "Re: 회의 안내"
    assert draft.to == "김지현 <jihyun@example.kr>"
    assert draft.cc == (
        "이민수 <minsu@example.kr>, 박서연 <seoyeon@example.kr>, 최지우 <jiwoo@example.kr>"
    )
    assert "2026년 3월 8일 (일) 오후 3:20, 김지현 <jihyun@example.kr>님이 작성:" in draft.body
    compose = client.get(response.url).content.decode()
    assert "김지현 &lt;jihyun@example.kr&gt;" in compose
    assert "=?" not in compose

    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(
            response.url,
            {
                "account": account.pk,
                "to": draft.to,
                "cc": draft.cc,
                "bcc": "",
                "subject": draft.subject,
                "body": draft.body,
                "action": "send",
            },
        )
    assert sent.status_code == 302
    wire = server.messages[0].data
    head = wire.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    msg = BytesParser(policy=policy.default).parsebytes(wire)
    assert [a.display_name for a in msg["To"].addresses] == ["김지현"]
    assert [a.display_name for a in msg["Cc"].addresses] == ["이민수", "박서연", "최지우"]
    assert str(msg["Subject"]) == "Re: 회의 안내"


@pytest.mark.parametrize(
    ("language", "block"),
    [
        (
            "ko",
            [
                "---------- 전달된 메일 ----------",
                "보낸 사람: 김지현 <jihyun@example.kr>",
                "날짜: 2026년 3월 8일 (일) 오후 3:20",
                "제목: 회의 안내",
                "받는 사람: 이민수 <minsu@example.kr>, alice@example.test",
                "참조: 박서연 <seoyeon@example.kr>, 최지우 <jiwoo@example.kr>",
            ],
        ),
        (
            "en",
            [
                "---------- Forwarded message ----------",
                "From: 김지현 <jihyun@example.kr>",
                "Date: Sun, Mar 8, 2026, 3:20 PM",
                "Subject: 회의 안내",
                "To: 이민수 <minsu@example.kr>, alice@example.test",
                "Cc: 박서연 <seoyeon@example.kr>, 최지우 <jiwoo@example.kr>",
            ],
        ),
    ],
)
def test_forward_block_in_the_users_language_with_korean_names(client, alice, language, block):
    alice.language = language
    alice.save()
    original = store(make_account(alice), korean_message())
    client.force_login(alice)
    draft = draft_from(client.post(reverse("forward", args=[original.pk])))
    lines = draft.body.strip("\n").split("\n")
    assert lines[:6] == block
    assert "=?" not in draft.body


@pytest.mark.parametrize(
    ("action", "subject", "expected"),
    [
        ("reply", "답장: 회의", "Re: 회의"),
        ("reply", "RE: 회신: 회의", "Re: 회의"),
        ("reply", "[external] RE: 회의", "Re: [external] 회의"),
        ("forward", "전달: 견적서", "Fwd: 견적서"),
        ("forward", "FW: 견적서", "Fwd: 견적서"),
    ],
)
def test_korean_prefixes_are_not_doubled(alice_client, alice, action, subject, expected):
    original = store(make_account(alice), mf.plain(subject))
    draft = draft_from(alice_client.post(reverse(action, args=[original.pk])))
    assert draft.subject == expected
