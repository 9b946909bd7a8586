"""Folders, keyset pages, search, bulk actions, the read page and downloads."""

import hashlib
import io
import itertools
import re
import zipfile
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mailbox import ingest
from mailbox.models import Folder, Message, TrustedSender
from testkit import mailfactory as mf

_uidls = itertools.count(1)


def store(account, raw: bytes, **fields) -> Message:
    message = ingest.store_message(account, raw, f"uid-{next(_uidls)}")
    if fields:
        Message.objects.filter(pk=message.pk).update(**fields)
        message.refresh_from_db()
    return message


def bulk_insert(account, count: int, folder=Folder.INBOX, start=None) -> list[Message]:
    start = start or timezone.now()
    rows = [
        Message(
            owner=account.user,
            account=account,
            folder=folder,
            uidl=f"bulk-{i}",
            subject=f"bulk {i:05d}",
            from_address="s@example.test",
            date=start - timedelta(minutes=i // 2),  # pairs share a date
            size=100,
            raw_file="raw/none.eml",
            raw_sha256="0" * 64,
        )
        for i in range(count)
    ]
    return Message.objects.bulk_create(rows)


# Folders and pages -----------------------------------------------------------


def test_folder_list_shows_unread_counts(alice_client, alice_account):
    store(alice_account, mf.plain("one"))
    store(alice_account, mf.plain("two"), seen=True)
    store(alice_account, mf.plain("three"), folder=Folder.ARCHIVE)
    html = alice_client.get(reverse("home")).content.decode()
    hidden = '<span class="visually-hidden">'
    assert f'data-unread="1">{hidden}, </span>1{hidden} unread</span>' in html
    folders = alice_client.get(reverse("home")).context["nav_folders"]
    counts = {f["name"]: f["unread"] for f in folders}
    assert counts == {
        "inbox": 1,
        "snoozed": 0,
        "archive": 1,
        "sent": 0,
        "drafts": 0,
        "junk": 0,
        "trash": 0,
    }


def test_unknown_folder_is_404(alice_client):
    assert alice_client.get(reverse("folder", args=["spam"])).status_code == 404


def newest_first(account) -> list[str]:
    return list(
        Message.objects.filter(owner=account.user, folder="inbox")
        .order_by("-date", "-id")
        .values_list("subject", flat=True)
    )


def walk(client, url, first_params):
    seen, params = [], first_params
    while True:
        page = client.get(url, params).context["page"]
        seen.extend(m.subject for m in page.messages)
        if page.is_last:
            return seen, page
        params = {"before": page.older}


def test_keyset_pages_walk_every_message_once_in_order(alice_client, alice_account):
    bulk_insert(alice_account, 237)
    subjects, _ = walk(alice_client, reverse("home"), {})
    assert len(subjects) == 237
    assert subjects == newest_first(alice_account)


def test_oldest_page_and_walking_back_to_the_newest(alice_client, alice_account):
    bulk_insert(alice_account, 120)
    url = reverse("home")
    page = alice_client.get(url, {"oldest": "1"}).context["page"]
    expected = newest_first(alice_account)
    assert [m.subject for m in page.messages] == expected[70:]
    assert page.is_last and not page.is_first
    collected = [m.subject for m in page.messages]
    while not page.is_first:
        page = alice_client.get(url, {"after": page.newer}).context["page"]
        collected = [m.subject for m in page.messages] + collected
    assert collected == expected


def test_first_and_last_page_cost_the_same_number_of_queries(alice_client, alice_account):
    bulk_insert(alice_account, 400)
    url = reverse("home")
    older = alice_client.get(url).context["page"].older

    def queries(params):
        # The log is a bounded deque: empty it so the capture counts from zero.
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            assert alice_client.get(url, params).status_code == 200
        return captured

    first, last, middle = queries({}), queries({"oldest": "1"}), queries({"before": older})
    assert len(first) == len(last)
    assert abs(len(middle) - len(first)) <= 1
    assert not any("OFFSET" in q["sql"].upper() for q in last.captured_queries)


def test_dates_show_time_today_and_date_otherwise_in_the_users_time_zone(
    alice_client, alice, alice_account
):
    alice.time_zone = "Asia/Seoul"
    alice.save()
    now = timezone.now()
    store(alice_account, mf.plain("today"), date=now)
    store(alice_account, mf.plain("old"), date=now.replace(year=now.year - 2))
    html = alice_client.get(reverse("home")).content.decode()
    seoul = timezone.localtime(now, timezone=__import__("zoneinfo").ZoneInfo("Asia/Seoul"))
    assert seoul.strftime("%H:%M") in html
    assert f"{now.year - 2}-" in html


# Search ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("invoice", ["Invoice 42"]),
        ("kim", ["회의 안내"]),  # sender name
        ("budget", ["회의 안내"]),  # body text
        ("회의", ["회의 안내"]),  # Korean subject word
        ("carol@example", ["Invoice 42"]),  # recipient
        ("invoice zzz", []),  # every term must match
    ],
)
def test_search_finds_subject_sender_recipients_and_body(
    alice_client, alice_account, query, expected
):
    store(alice_account, mf.plain("Invoice 42", "Please pay.\n", to="Carol <carol@example.org>"))
    store(
        alice_account,
        mf.plain(
            "회의 안내", "The budget meeting is moved.\n", from_="Kim Minsu <minsu@example.kr>"
        ),
    )
    store(alice_account, mf.plain("Unrelated", "Nothing here.\n"))
    response = alice_client.get(reverse("home"), {"q": query})
    assert sorted(m.subject for m in response.context["page"].messages) == sorted(expected)


def test_search_never_returns_another_users_mail(client, alice_account, bob_account):
    store(alice_account, mf.plain("secret plans"))
    client.force_login(bob_account.user)
    assert list(client.get(reverse("home"), {"q": "secret"}).context["page"].messages) == []


# Bulk actions ------------------------------------------------------------------


def post_bulk(client, action, messages, folder="inbox", **extra):
    return client.post(
        reverse("bulk_action"),
        {"action": action, "ids": [m.pk for m in messages], "folder": folder, **extra},
    )


def test_bulk_mark_read_unread_flag_unflag(alice_client, alice_account):
    a, b = store(alice_account, mf.plain("a")), store(alice_account, mf.plain("b"))
    post_bulk(alice_client, "mark_read", [a, b])
    assert set(Message.objects.values_list("seen", flat=True)) == {True}
    post_bulk(alice_client, "mark_unread", [a])
    a.refresh_from_db()
    assert not a.seen
    post_bulk(alice_client, "flag", [b])
    b.refresh_from_db()
    assert b.flagged
    post_bulk(alice_client, "unflag", [b])
    b.refresh_from_db()
    assert not b.flagged


def test_a_toolbar_button_wins_over_the_menu_a_form_without_javascript_also_sends(
    alice_client, alice_account
):
    # A browser without JavaScript submits the "With selected" menu's value with any button,
    # so only buttons may be named "action".
    a = store(alice_account, mf.plain("a"))
    page = alice_client.get("/").content.decode()
    named_action = re.findall(r"<(\w+)[^>]*\bname=\"action\"", page)
    assert named_action and set(named_action) == {"button"}
    alice_client.post(
        "/mail/bulk/",
        {"action": "archive", "menu_action": "mark_read", "ids": [a.pk], "folder": "inbox"},
    )
    a.refresh_from_db()
    assert (a.folder, a.seen) == ("archive", False)


def test_the_menus_apply_button_runs_the_menus_action(alice_client, alice_account):
    a = store(alice_account, mf.plain("a"))
    alice_client.post(
        "/mail/bulk/",
        {"action": "menu", "menu_action": "mark_read", "ids": [a.pk], "folder": "inbox"},
    )
    a.refresh_from_db()
    assert (a.folder, a.seen) == ("inbox", True)


def test_archive_trash_restore_and_delete_forever(alice_client, alice_account):
    a, b = store(alice_account, mf.plain("a")), store(alice_account, mf.plain("b"))
    post_bulk(alice_client, "archive", [a])
    post_bulk(alice_client, "trash", [a, b])
    a.refresh_from_db()
    assert (a.folder, a.trashed_from) == ("trash", "archive")
    post_bulk(alice_client, "restore", [a, b], folder="trash")
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.folder, b.folder) == ("archive", "inbox")
    post_bulk(alice_client, "trash", [a])
    response = post_bulk(alice_client, "delete_forever", [a], folder="trash")
    assert Message.objects.filter(pk=a.pk).exists(), "needs confirmation"
    assert "confirm" in response.wsgi_request._messages._queued_messages[0].message
    post_bulk(alice_client, "delete_forever", [a], folder="trash", confirm="on")
    assert not Message.objects.filter(pk=a.pk).exists()


def test_delete_forever_only_deletes_from_trash(alice_client, alice_account):
    a = store(alice_account, mf.plain("a"))
    post_bulk(alice_client, "delete_forever", [a], confirm="on")
    assert Message.objects.filter(pk=a.pk).exists()


def test_deleting_forever_removes_unshared_files_only(
    alice_client, alice_account, django_capture_on_commit_callbacks
):
    raw = mf.with_attachments(attachments=[("a.bin", "application/octet-stream", b"A" * 500)])
    first = store(alice_account, raw)
    second = store(alice_account, raw)  # same bytes: same content-addressed files
    post_bulk(alice_client, "trash", [first])
    with django_capture_on_commit_callbacks(execute=True):
        post_bulk(alice_client, "delete_forever", [first], folder="trash", confirm="on")
    assert default_storage.exists(second.raw_file.name)
    post_bulk(alice_client, "trash", [second])
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(reverse("empty_trash"))
    assert not default_storage.exists(second.raw_file.name)
    assert not Message.objects.filter(owner=alice_account.user).exists()


def test_bulk_actions_ignore_other_users_messages(client, alice_account, bob_account):
    theirs = store(alice_account, mf.plain("alice's"))
    client.force_login(bob_account.user)
    post_bulk(client, "trash", [theirs])
    post_bulk(client, "mark_read", [theirs])
    theirs.refresh_from_db()
    assert (theirs.folder, theirs.seen) == ("inbox", False)


def test_bulk_action_without_selection_names_the_problem(alice_client):
    response = alice_client.post(reverse("bulk_action"), {"action": "trash"}, follow=True)
    assert "Select at least one message." in response.content.decode()


def test_deleting_here_never_touches_the_pop3_server(alice_client, alice_account):
    # Deleting is local; nothing in the actions opens a POP3 session.
    a = store(alice_account, mf.plain("a"))
    post_bulk(alice_client, "trash", [a])
    post_bulk(alice_client, "delete_forever", [a], folder="trash", confirm="on")
    alice_account.refresh_from_db()
    assert alice_account.last_poll_at is None


# Read page -------------------------------------------------------------------


def test_opening_a_message_marks_it_read_and_shows_decoded_headers(alice_client, alice_account):
    m = store(
        alice_account,
        mf.plain(
            "회의 <b>안내</b>", "안녕하세요\n", from_="=?UTF-8?B?6rmA66+87IiY?= <minsu@example.kr>"
        ),
    )
    html = alice_client.get(reverse("read_message", args=[m.pk])).content.decode()
    m.refresh_from_db()
    assert m.seen
    assert "<bdi>회의 &lt;b&gt;안내&lt;/b&gt;</bdi>" in html
    assert '<bdi class="sender-name">김민수</bdi> &lt;minsu@example.kr&gt;' in html
    assert "안녕하세요" in html


def test_plain_text_links_are_linkified_safely(alice_client, alice_account):
    m = store(
        alice_account,
        mf.plain(
            "links",
            "See https://example.org/x?a=1&b=2 now\n<script>alert(1)</script>\n> quoted line\n",
        ),
    )
    html = alice_client.get(reverse("read_message", args=[m.pk])).content.decode()
    assert 'href="https://example.org/x?a=1&amp;b=2"' in html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert "<script>alert(1)</script>" not in html
    assert "quoted line" in html


def test_html_body_is_served_separately_in_a_sandboxed_iframe(alice_client, alice_account):
    m = store(alice_account, mf.html_only('<p onclick="x()">Hi<script>alert(1)</script></p>'))
    page = alice_client.get(reverse("read_message", args=[m.pk])).content.decode()
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in page
    assert "allow-scripts" not in page and "allow-same-origin" not in page
    body = alice_client.get(reverse("message_body", args=[m.pk]))
    csp = body["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert "img-src data:;" in csp
    assert body["X-Frame-Options"] == "SAMEORIGIN"
    assert body["Referrer-Policy"] == "no-referrer"
    text = body.content.decode()
    assert "Hi" in text and "<script" not in text and "onclick" not in text


def test_remote_images_are_blocked_until_asked(alice_client, alice_account):
    m = store(alice_account, mf.html_only('<p>News</p><img src="https://tracker.example/p.gif">'))
    page = alice_client.get(reverse("read_message", args=[m.pk])).content.decode()
    assert "Remote images are blocked" in page
    body = alice_client.get(reverse("message_body", args=[m.pk]))
    assert "tracker.example" not in body.content.decode()
    assert "https:" not in body["Content-Security-Policy"]
    shown = alice_client.get(reverse("message_body", args=[m.pk]), {"images": "1"})
    assert "https://tracker.example/p.gif" in shown.content.decode()
    assert "img-src data: https: http:" in shown["Content-Security-Policy"]


def test_always_show_images_from_this_sender(alice_client, alice, alice_account):
    m = store(alice_account, mf.html_only('<img src="https://cdn.example/logo.png">'))
    alice_client.post(reverse("trust_sender", args=[m.pk]))
    assert TrustedSender.objects.filter(owner=alice, address=m.from_address.lower()).exists()
    page = alice_client.get(reverse("read_message", args=[m.pk])).content.decode()
    assert "Remote images are blocked" not in page
    body = alice_client.get(reverse("message_body", args=[m.pk])).content.decode()
    assert "https://cdn.example/logo.png" in body


def test_cid_images_are_inlined_from_our_own_attachment(alice_client, alice_account):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
    m = store(alice_account, mf.related_inline_image("logo@example.com", png))
    body = alice_client.get(reverse("message_body", args=[m.pk])).content.decode()
    assert "data:image/png;base64," in body
    assert "cid:" not in body


def test_previous_and_next_follow_the_folder_order(alice_client, alice_account):
    now = timezone.now()
    old = store(alice_account, mf.plain("old"), date=now - timedelta(hours=2))
    mid = store(alice_account, mf.plain("mid"), date=now - timedelta(hours=1))
    new = store(alice_account, mf.plain("new"), date=now)
    context = alice_client.get(reverse("read_message", args=[mid.pk])).context
    assert (context["newer"], context["older"]) == (new.pk, old.pk)


def test_read_page_buttons_move_and_flag(alice_client, alice_account):
    m = store(alice_account, mf.plain("x"))
    alice_client.post(reverse("message_action", args=[m.pk]), {"action": "flag"})
    alice_client.post(reverse("message_action", args=[m.pk]), {"action": "archive"})
    m.refresh_from_db()
    assert (m.flagged, m.folder) == (True, "archive")


# Downloads ---------------------------------------------------------------------


def test_attachment_download_headers_keep_korean_names_and_stay_safe(alice_client, alice_account):
    data = b"%PDF-1.4 report"
    m = store(
        alice_account,
        mf.with_attachments(attachments=[("보고서 2026.pdf", "application/pdf", data)]),
    )
    part = m.attachments.get()
    response = alice_client.get(reverse("download_attachment", args=[m.pk, part.pk]))
    assert b"".join(response.streaming_content) == data
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=utf-8''%EB%B3%B4%EA%B3%A0%EC%84%9C%202026.pdf" in disposition
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert response["Content-Type"] == "application/octet-stream"


def test_html_and_svg_attachments_are_never_previewed_inline(alice_client, alice_account):
    m = store(
        alice_account,
        mf.with_attachments(
            attachments=[
                ("page.html", "text/html", b"<script>alert(1)</script>"),
                ("pic.svg", "image/svg+xml", b"<svg onload=alert(1)></svg>"),
                ("pic.png", "image/png", b"\x89PNG\r\n\x1a\n"),
            ]
        ),
    )
    for part in m.attachments.all():
        response = alice_client.get(
            reverse("download_attachment", args=[m.pk, part.pk]), {"preview": "1"}
        )
        inline = response["Content-Disposition"].startswith("inline")
        assert inline == (part.content_type == "image/png"), part.content_type


def test_download_all_as_zip(alice_client, alice_account):
    m = store(
        alice_account,
        mf.with_attachments(
            attachments=[
                ("a.txt", "text/plain", b"first"),
                ("a.txt", "text/plain", b"second"),
                ("견적서.xlsx", "application/vnd.ms-excel", b"xlsx"),
            ]
        ),
    )
    response = alice_client.get(reverse("download_all", args=[m.pk]))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == sorted(["a.txt", "a (2).txt", "견적서.xlsx"])
    assert archive.read("a (2).txt") == b"second"


def test_original_eml_is_byte_exact_and_source_is_plain_text(alice_client, alice_account):
    raw = mf.korean_euc_kr()
    m = store(alice_account, raw)
    eml = alice_client.get(reverse("download_eml", args=[m.pk]))
    assert b"".join(eml.streaming_content) == raw
    assert eml["Content-Disposition"].startswith("attachment;")
    assert hashlib.sha256(raw).hexdigest() == m.raw_sha256
    source = alice_client.get(reverse("view_source", args=[m.pk]))
    assert source["Content-Type"] == "text/plain; charset=utf-8"
    assert source["Content-Security-Policy"].startswith("sandbox")


# Security across pages ---------------------------------------------------------


def test_app_pages_send_security_headers(alice_client):
    response = alice_client.get(reverse("home"))
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] in {"same-origin", "no-referrer"}


def test_pages_contain_no_inline_script(alice_client, alice_account):
    m = store(alice_account, mf.plain("x"))
    for url in (reverse("home"), reverse("read_message", args=[m.pk]), reverse("account_list")):
        html = alice_client.get(url).content.decode()
        assert "<script>" not in html
        assert all('src="' in tag for tag in html.split("<script")[1:])


def test_state_changes_need_post_and_csrf(alice, alice_account):
    from django.test import Client

    m = store(alice_account, mf.plain("x"))
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert (
        client.get(reverse("message_action", args=[m.pk]), {"action": "trash"}).status_code == 405
    )
    assert (
        client.post(reverse("message_action", args=[m.pk]), {"action": "trash"}).status_code == 403
    )
    m.refresh_from_db()
    assert m.folder == "inbox"


def _patterns_with_ids():
    from django.urls import get_resolver

    from accounts import urls as accounts_urls
    from mailbox import urls as mailbox_urls

    for module in (mailbox_urls, accounts_urls):
        for pattern in module.urlpatterns:
            converters = pattern.pattern.converters
            if any(type(c).__name__ == "IntConverter" for c in converters.values()):
                yield pattern.name, list(converters)
    get_resolver()  # keep the resolver warm for reverse()


def test_isolation_sweep_every_url_with_another_users_ids_is_404(client, alice_account, bob):
    from mailbox.models import Outgoing

    m = store(alice_account, mf.with_attachments())
    part = m.attachments.get()
    draft = Outgoing.objects.create(
        owner=alice_account.user, account=alice_account, to="x@example.test"
    )
    Message.objects.filter(pk=m.pk).update(read_receipt_to="x@example.test")
    # The object of alice's that each view's pk names.
    pk_of = {"account": alice_account.pk, "outgoing": draft.pk, "message": m.pk}
    kind = {
        "account_edit": "account",
        "account_delete": "account",
        "account_test": "account",
        "compose_edit": "outgoing",
        "cancel_outgoing": "outgoing",
    }
    client.force_login(bob)
    checked = []
    for name, params in _patterns_with_ids():
        kwargs = {
            p: part.pk if p == "attachment_pk" else pk_of[kind.get(name, "message")] for p in params
        }
        url = reverse(name, kwargs=kwargs)
        response = client.get(url)
        if response.status_code == 405:
            response = client.post(url, {"action": "trash", "confirm": "on", "all": "1"})
        assert response.status_code == 404, (name, response.status_code)
        checked.append(name)
    assert {
        "read_message",
        "message_body",
        "download_attachment",
        "view_source",
        "download_eml",
        "download_all",
        "trust_sender",
        "message_action",
        "reply",
        "forward",
        "send_read_receipt",
        "compose_edit",
        "cancel_outgoing",
        "account_edit",
        "account_delete",
        "account_test",
    } <= set(checked)
    m.refresh_from_db()
    draft.refresh_from_db()
    assert (m.folder, m.seen, m.read_receipt_sent) == ("inbox", False, False)
    assert draft.status == "draft"
    assert not Outgoing.objects.filter(owner=bob).exists()


def test_search_by_a_full_sender_address(alice_client, alice_account):
    store(
        alice_account, mf.plain("From Minsoo", "hi\n", from_="Minsoo Kim <minsoo.kim@daum.example>")
    )
    store(alice_account, mf.plain("Other", "hi\n", from_="someone@else.example"))
    for query in ("minsoo.kim@daum.example", "<minsoo.kim@daum.example>", "minsoo.kim@daum"):
        page = alice_client.get(reverse("home"), {"q": query}).context["page"]
        assert [m.subject for m in page.messages] == ["From Minsoo"], query
