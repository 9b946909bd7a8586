"""Korean and English in a real browser: every page speaks the reader's language.

A Chromium whose locale is ko-KR (it sends Accept-Language: ko-KR) visits every page
of the interface; each must say <html lang="ko">, show Korean, and show no English
word once what is not ours to translate is taken out: what the senders wrote (subjects,
names, bodies, file names), e-mail addresses, protocol names, units and the keys on
the keyboard. The same tour in en-US shows English and no Korean of ours. A user's own
language preference wins over the browser's. Dates in the list follow Korean custom,
and axe finds nothing on the Korean pages in either theme.

The tour finds its way by URLs and element ids, never by English labels, so the
same steps run in both languages.
"""

import json
import re
from datetime import datetime, timedelta
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import pytest

from testkit import mailfactory as mf
from tests.browser.conftest import (
    ARTIFACTS,
    browser_required,
    csp_violations,
    devmail_user,
    expect,
    shot,
    store,
)
from tests.browser.test_accessibility import AXE, RUN_AXE, UNLABELLED_CONTROLS
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

SEOUL = ZoneInfo("Asia/Seoul")
KOREAN, ENGLISH = "ko-KR", "en-US"
USERNAME = "minsu"

# What the senders wrote: never translated, so taken out before looking for words.
SUBJECTS = {"today": "주간 회의 안건", "this_year": "3분기 예산 검토", "older": "연말 송년회 안내"}
SENDERS = {
    "today": ("김지현", "jihyun@example.kr"),
    "this_year": ("이수민", "sumin@example.kr"),
    "older": ("박서준", "seojun@example.kr"),
}
BODIES = {
    "today": "민수 씨, 안녕하세요.\n금요일 회의 안건을 첨부합니다. 미리 읽어 주세요.\n",
    "this_year": "3분기 예산안을 검토해 주세요.\n",
    "older": "올해 송년회는 12월 20일 저녁입니다.\n",
}
ATTACHMENT = "회의 안건.pdf"
# The account's display name (conftest.devmail_user) shows in the From menu.
SEEDED = [USERNAME, USERNAME.capitalize(), ATTACHMENT, *SUBJECTS.values()]
SEEDED += [part for name, address in SENDERS.values() for part in (name, address)]
SEEDED += BODIES.values()

# Not words of our interface, in either language.
NOT_OURS = [
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",  # e-mail addresses
    # Protocols, units and formats keep their Latin names in Korean too ("SMTP로", "25MB까지").
    r"(?<![A-Za-z0-9/])(?:POP3|SMTP|STARTTLS|SSL/TLS|SSL|TLS|APOP|UIDL)(?![A-Za-z0-9/])",
    r"(?<=\d)\s?(?:bytes|KB|MB|GB|TB)(?![A-Za-z])",  # sizes, as Korean mail services write them
    r"\.(?:eml|zip)(?![A-Za-z])",  # file formats
    r"\(Esc\)",  # a key, in a tooltip
    r"\(Ctrl\+[A-Z]\)",  # a key combination, in the editor's tooltips
    r"(?<![A-Za-z])English(?![A-Za-z])|한국어",  # each language named in itself in the pickers
]
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
HANGUL_WORD = re.compile(r"[\u3131-\u318e\uac00-\ud7a3]+")
# Word by word, as the list shows a body cut short in its snippet.
SEEDED_WORDS = {word for text in SEEDED for word in LATIN_WORD.findall(text)}
SEEDED_WORDS |= {word for text in SEEDED for word in HANGUL_WORD.findall(text)}

# Everything a reader sees or hears: the rendered text, the title, and the names and
# tooltips of controls; apart, the keys as printed on the keyboard, and the time zones
# the preferences list by their names in the tz database ("Asia/Seoul"), in both languages.
PAGE_TEXT = """() => {
  const named = "[aria-label], [title], [placeholder], [alt], [data-tooltip], [aria-description]";
  const labels = [];
  for (const el of document.querySelectorAll(named)) {
    for (const name of ["aria-label", "title", "placeholder", "alt", "data-tooltip",
                        "aria-description"]) {
      if (el.getAttribute(name)) labels.push(el.getAttribute(name));
    }
  }
  return {
    lang: document.documentElement.lang,
    text: document.title + "\\n" + document.body.innerText,
    labels: labels,
    keys: [...document.querySelectorAll("kbd")].map((k) => k.innerText.trim()),
    zones: [...document.querySelectorAll("select[name=time_zone] option")]
      .filter((o) => o.value && o.value === o.text).map((o) => o.value),
  };
}"""


def ages(now: datetime) -> dict[str, datetime]:
    """Today, earlier this year, and two years ago, in Seoul."""
    today = now.astimezone(SEOUL).replace(second=0, microsecond=0)
    earlier = today - timedelta(days=1)
    this_year = earlier if earlier.year == today.year else today + timedelta(days=1)
    return {
        "today": today,
        "this_year": this_year,
        "older": today.replace(year=today.year - 2, month=3, day=8, hour=15, minute=20),
    }


def seed(account) -> dict:
    """Three Korean messages, one for each way the list writes a date."""
    messages = {}
    for age, when in ages(datetime.now(SEOUL)).items():
        name, address = SENDERS[age]
        text = mf.text_part(BODIES[age])
        if age == "today":
            pdf = b"%PDF-1.4 " + b"0" * 1200
            text = mf.multipart(
                "mixed", text, mf.attachment_part(pdf, ATTACHMENT, "application/pdf")
            )
        raw = mf.message(
            text,
            subject=mf.encoded_word(SUBJECTS[age]),
            from_=f"{mf.encoded_word(name)} <{address}>",
            to=f"<{USERNAME}@example.test>",
            date=format_datetime(when),
            message_id=f"<{age}@example.kr>",
        )
        messages[age] = store(account, raw)
    return messages


@pytest.fixture
def mailbox(devmail):
    """minsu, in Seoul, following the browser's language, with three messages."""

    def make(language: str = ""):
        user = devmail_user(devmail, USERNAME, time_zone="Asia/Seoul", language=language)
        return seed(user.mail_accounts.get())

    return make


def log_in(page, username: str = USERNAME) -> None:
    page.goto("/auth/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form[action$='/auth/login/'] [type=submit]").click()
    expect(page.locator("#list-pane")).to_be_visible()


def submit_empty(page, form: str) -> None:
    """Send `form` with its fields empty, past the browser's own checks."""
    page.locator(form).evaluate("(form) => { form.noValidate = true; }")
    page.locator(f"{form} [type=submit]").first.click()
    expect(page.locator(".error-summary")).to_be_visible()


def send_without_a_valid_csrf_token(page) -> None:
    """A form whose token went stale: Django refuses it with 403."""
    page.goto("/auth/password_change/")
    page.locator("main form input[name=csrfmiddlewaretoken]").evaluate(
        "(input) => { input.value = 'stale'; }"
    )
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator("main form").evaluate("(form) => { form.noValidate = true; }")
        page.locator("main form [type=submit]").click()
    assert answer.value.status == 403
    page.wait_for_load_state()


def not_found(page) -> None:
    response = page.goto("/no-such-page/")
    assert response.status == 404


def tour(page, messages) -> list:
    """(name, what to do) for every page, logged in; the login page comes before."""
    report = messages["today"]

    def reading_pane():
        page.goto("/")
        page.locator(f"#row-{report.pk} .row-link").click()
        expect(page.locator("#reading-pane #subject")).to_have_text(SUBJECTS["today"])

    def shortcuts_dialog():
        page.goto("/")
        page.keyboard.press("?")
        expect(page.locator("#shortcuts-dialog")).to_be_visible()

    def preferences_saved():
        page.goto("/settings/accounts/")
        page.locator("form[action$='/preferences/'] [type=submit]").click()
        expect(page.locator("#toasts .toast")).to_be_visible()

    def account_form_error():
        page.goto("/settings/accounts/new/")
        submit_empty(page, "main form.card")

    def password_error():
        page.goto("/auth/password_change/")
        submit_empty(page, "main form")

    return [
        ("inbox", lambda: page.goto("/")),
        ("reading pane", reading_pane),
        ("compose", lambda: page.goto("/compose/")),
        ("settings", lambda: page.goto("/settings/accounts/")),
        ("preferences saved", preferences_saved),
        ("account form", lambda: page.goto("/settings/accounts/new/")),
        ("account form with errors", account_form_error),
        ("password change", lambda: page.goto("/auth/password_change/")),
        ("password change with errors", password_error),
        ("keyboard shortcuts", shortcuts_dialog),
        ("404", lambda: not_found(page)),
        ("403", lambda: send_without_a_valid_csrf_token(page)),
    ]


def words_not_in(page, language: str) -> tuple[str, list[str], bool]:
    """(lang, words of the other language, whether ours in `language` shows) on the page."""
    seen = page.evaluate(PAGE_TEXT)
    text = "\n".join([seen["text"], *seen["labels"]])
    for pattern in NOT_OURS:
        text = re.sub(pattern, " ", text)
    if seen["zones"]:
        zones = "|".join(map(re.escape, sorted(seen["zones"], key=len, reverse=True)))
        text = re.sub(rf"(?<![\w/])(?:{zones})(?![\w/])", " ", text)
    keys = {word for key in seen["keys"] for word in LATIN_WORD.findall(key)}
    ours, other = (HANGUL_WORD, LATIN_WORD) if language == "ko" else (LATIN_WORD, HANGUL_WORD)
    foreign = set(other.findall(text)) - SEEDED_WORDS - keys
    shown = bool(set(ours.findall(text)) - SEEDED_WORDS - keys)
    return seen["lang"], sorted(foreign), shown


def visit_every_page(page, messages, language: str, *, login_page: bool = True) -> dict:
    """What each page shows that is not in `language`: {page: (lang, words, ours shown)}."""
    found = {}

    def look(name: str) -> None:
        lang, words, shown = words_not_in(page, language)
        shot(page, name.replace(" ", "-"), f"languages-{language}")
        if lang != language or words or not shown:
            found[name] = (lang, words, shown)

    if login_page:
        page.goto("/auth/login/")
        look("login")
    log_in(page)
    for name, go in tour(page, messages):
        go()
        look(name)
    return found


def report(found: dict, words: str) -> str:
    return "\n".join(
        f"  {name}: lang={lang!r}, {words}: {foreign}, ours shown: {shown}"
        for name, (lang, foreign, shown) in found.items()
    )


def test_every_page_speaks_korean_to_a_korean_browser(new_page, mailbox):
    messages = mailbox()
    page = new_page(locale=KOREAN)
    found = visit_every_page(page, messages, "ko")
    assert found == {}, "pages not all in Korean:\n" + report(found, "English words")
    assert page.record.page_errors == []


def test_the_lockout_after_failed_logins_speaks_korean(new_page, mailbox, settings):
    mailbox()
    page = new_page(locale=KOREAN)
    page.goto("/auth/login/")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        page.locator("#id_username").fill(USERNAME)
        page.locator("#id_password").fill("wrong")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.locator("form[action$='/auth/login/'] [type=submit]").click()
        page.wait_for_load_state()
    assert answer.value.status == 429
    assert words_not_in(page, "ko") == ("ko", [], True)


def test_every_page_speaks_english_to_an_english_browser(new_page, mailbox):
    messages = mailbox()
    page = new_page(locale=ENGLISH)
    found = visit_every_page(page, messages, "en")
    assert found == {}, "pages not all in English:\n" + report(found, "Korean words")


def test_the_pages_use_the_usual_words_of_each_language(new_page, mailbox):
    messages = mailbox()
    for locale, words in [
        (KOREAN, ["로그인", "받은편지함", "편지쓰기", "답장", "전달", "환경설정"]),
        (ENGLISH, ["Log in", "Inbox", "Compose", "Reply", "Forward", "Preferences"]),
    ]:
        page = new_page(locale=locale)
        page.goto("/auth/login/")
        expect(page.locator("main")).to_contain_text(words[0])
        log_in(page)
        expect(page.locator("#sidebar")).to_contain_text(words[1])
        expect(page.locator("#sidebar")).to_contain_text(words[2])
        page.goto(f"/mail/{messages['today'].pk}/")
        expect(page.locator("#reading-pane .toolbar")).to_contain_text(words[3])
        expect(page.locator("#reading-pane .toolbar")).to_contain_text(words[4])
        page.goto("/settings/accounts/")
        expect(page.locator("main")).to_contain_text(words[5])


@pytest.mark.parametrize(
    ("preference", "locale", "inbox"),
    [("en", KOREAN, "Inbox"), ("ko", ENGLISH, "받은편지함")],
    ids=["english-user-korean-browser", "korean-user-english-browser"],
)
def test_the_users_language_wins_over_the_browsers(new_page, mailbox, preference, locale, inbox):
    messages = mailbox(language=preference)
    page = new_page(locale=locale)
    found = visit_every_page(page, messages, preference, login_page=False)
    assert found == {}, f"pages not all in {preference!r}:\n" + report(found, "other words")
    page.goto("/")
    expect(page.locator("#folder-title")).to_have_text(inbox)


def test_the_list_writes_dates_as_korean_mail_services_do(new_page, mailbox):
    messages = mailbox()
    page = new_page(locale=KOREAN)
    log_in(page)
    dates = {
        age: page.locator(f"#row-{message.pk} time").inner_text().strip()
        for age, message in messages.items()
    }
    when = ages(datetime.now(SEOUL))
    hour = when["today"].hour % 12 or 12
    noon = "오전" if when["today"].hour < 12 else "오후"
    assert dates == {
        "today": f"{noon} {hour}:{when['today'].minute:02d}",
        "this_year": f"{when['this_year'].month}월 {when['this_year'].day}일",
        "older": f"{when['older'].year}. 3. 8.",
    }


@pytest.fixture
def axe_source():
    if not AXE.is_file():
        reason = f"axe-core is not installed at {AXE} (run .ci/install-browser.sh)"
        if browser_required():
            pytest.fail(reason)
        pytest.skip(reason)
    return AXE


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_on_the_korean_pages(new_page, mailbox, axe_source, scheme):
    messages = mailbox()
    page = new_page(locale=KOREAN, color_scheme=scheme)
    page.context.add_init_script(path=str(axe_source))
    violations, unlabelled = {}, {}

    def check(name: str) -> None:
        found = page.evaluate(RUN_AXE)
        if found:
            violations[name] = found
        missing = page.evaluate(UNLABELLED_CONTROLS)
        if missing:
            unlabelled[name] = missing
        assert csp_violations(page) == [], name

    page.goto("/auth/login/")
    check("login")
    log_in(page)
    for name, go in tour(page, messages):
        go()
        check(name)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    report = ARTIFACTS / f"axe-violations-korean-{scheme}.json"
    report.write_text(json.dumps(violations, indent=2, ensure_ascii=False))
    assert violations == {}
    assert unlabelled == {}
