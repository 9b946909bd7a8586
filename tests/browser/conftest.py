"""Real-browser fixtures: Debian's Chromium driven by Playwright against the live server.

- One Chromium for all of tests/browser (`browser`); each test gets fresh contexts and
  pages from `new_page()`, whose every request, dialog, popup, top-level navigation and
  CSP violation is recorded on `page.record` (a `Recorder`).
- Nothing leaves the machine: requests for any origin other than the live
  server are recorded and aborted (or answered with a tiny PNG when a test
  allows remote images), never sent.
- Without /usr/bin/chromium (or Playwright) the tests skip with the reason;
  with CI=true or WEBMAIL_REQUIRE_BROWSER=1 they fail instead, as the Dovecot
  tests do with WEBMAIL_REQUIRE_DOVECOT.
- Screenshots go to test-artifacts/browser/ (gitignored); a failing test also leaves
  its pages there, under failures/.

Celery tasks run eagerly here (tests.settings sets CELERY_TASK_ALWAYS_EAGER):
eager tasks because the live server's requests run in autocommit, so
`delay_on_commit` fires right after the request's own commit and "Check mail
now" and Send do their POP3/SMTP work before the response, exactly as a worker
would moments later. The worker itself is covered by tests/mailbox/test_celery_worker.py.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.handlers.wsgi import WSGIHandler

from devmail import DevMail
from mailbox import ingest
from tests.conftest import PASSWORD, make_account, make_user

try:  # test modules import these from here, so a machine without Playwright skips cleanly
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = expect = None
    PlaywrightError = Exception

CHROMIUM = Path("/usr/bin/chromium")
# Chromium runs as root in CI, so without its sandbox; the rest keeps it quiet
# and offline: no component updates, no background fetches, no QUIC probing.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-gpu",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
# URL schemes that stay inside the browser: never "another origin" on the network.
BROWSER_INTERNAL = r"(data|blob|about|chrome|chrome-extension|chrome-error|devtools):"
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# A 1×1 transparent PNG, served for remote images once the user asks for them.
PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
# Collected on the top page by an init script (not subject to the page's CSP):
# a policy violation there would be our own code breaking our own policy.
INIT_SCRIPT = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push({directive: e.violatedDirective, blocked: e.blockedURI,
    source: e.sourceFile, line: e.lineNumber, sample: e.sample, document: e.documentURI});
}, true);
"""


def browser_required() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("WEBMAIL_REQUIRE_BROWSER") == "1"


def _unavailable(reason: str):
    if browser_required():
        pytest.fail(f"{reason} (CI=true or WEBMAIL_REQUIRE_BROWSER=1: the browser is required)")
    pytest.skip(reason)


@pytest.fixture(scope="package")
def browser():
    """One Chromium for all of tests/browser.

    Package-scoped, not session-scoped: Playwright's sync API keeps an asyncio
    loop marked as running on this thread while it is started, and Django then
    refuses ORM calls from the test code ("async context"). We allow them only
    while the browser runs (the test code is plain synchronous code; the loop
    belongs to Playwright), and stop both before the rest of the suite runs.
    """
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"Chromium is not installed at {CHROMIUM} (run .ci/install-browser.sh)")
    if sync_playwright is None:
        _unavailable("Playwright for Python is not installed (pip install -r requirements-dev.txt)")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            # launch() gives Chromium a fresh temporary --user-data-dir of its own.
            chromium = pw.chromium.launch(
                executable_path=str(CHROMIUM),
                headless=True,
                chromium_sandbox=False,
                args=CHROMIUM_ARGS,
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class Recorder:
    """What the browser did, from its own events."""

    origin: str
    requests: list = field(default_factory=list)  # (method, url, resource_type, frame_url)
    foreign: list = field(default_factory=list)  # (method, url, type, referer): never sent
    dialogs: list = field(default_factory=list)
    popups: list = field(default_factory=list)
    navigations: list = field(default_factory=list)  # top-level document URLs
    console_errors: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)
    allow_remote_images: bool = False

    def mark(self) -> dict[str, int]:
        """Where every list stands now, to look only at what happens next."""
        return {name: len(getattr(self, name)) for name in self._lists}

    def since(self, mark: dict[str, int], name: str) -> list:
        return getattr(self, name)[mark[name] :]

    _lists = (
        "requests",
        "foreign",
        "dialogs",
        "popups",
        "navigations",
        "console_errors",
        "page_errors",
    )

    def is_ours(self, url: str) -> bool:
        return url == self.origin or url.startswith(self.origin + "/")


def instrument(page, record: Recorder) -> None:
    """Record a page's dialogs, top-level navigations, console errors and popups."""
    if getattr(page, "record", None) is record:
        return
    page.record = record
    if page.opener() is not None:
        record.popups.append(page)
    page.on("dialog", lambda d: (record.dialogs.append((d.type, d.message)), d.dismiss()))
    page.on(
        "framenavigated",
        lambda f: f == page.main_frame and record.navigations.append((page, f.url)),
    )
    page.on(
        "console",
        lambda m: m.type == "error" and record.console_errors.append((m.text, m.location)),
    )
    page.on("pageerror", lambda e: record.page_errors.append(str(e)))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.browser_failed = report.failed
    return report


@pytest.fixture
def new_page(request, browser, live_server):
    """Factory: a fresh context and page on the live server, recorded; closed at teardown.

    When the test fails, each of its pages leaves a screenshot and its HTML in
    test-artifacts/browser/failures/.
    """
    contexts = []

    def make(viewport=DESKTOP, **options):
        record = Recorder(origin=live_server.url)
        context = browser.new_context(
            viewport=viewport,
            base_url=live_server.url,
            accept_downloads=True,
            **{"locale": "en-US", "timezone_id": "Asia/Seoul", **options},
        )
        context.set_default_timeout(15_000)
        context.add_init_script(INIT_SCRIPT)

        # A regex, not a Python predicate, so the driver itself matches URLs and only
        # foreign requests make the round trip to this process. Chromium's own pages
        # (its PDF viewer's chrome:// resources) never touch the network.
        outside = re.compile(rf"^(?!{re.escape(live_server.url)}(/|$))(?!{BROWSER_INTERNAL}).*")

        def handle(route):
            request = route.request
            referer = request.headers.get("referer", "")
            record.foreign.append((request.method, request.url, request.resource_type, referer))
            if record.allow_remote_images and request.resource_type == "image":
                route.fulfill(status=200, content_type="image/png", body=PIXEL_PNG)
            else:
                route.abort("blockedbyclient")

        context.route(outside, handle)

        def on_request(request):
            try:
                frame_url = request.frame.url
            except PlaywrightError:  # a popup's first request comes before its frame
                frame_url = ""
            record.requests.append((request.method, request.url, request.resource_type, frame_url))

        context.on("request", on_request)
        # Requests still on their way at teardown (autosave's save as a page is left).
        in_flight = context.in_flight = set()
        context.on("request", lambda r: in_flight.add(r))
        context.on("requestfinished", lambda r: in_flight.discard(r))
        context.on("requestfailed", lambda r: in_flight.discard(r))
        context.on("page", lambda p: instrument(p, record))
        page = context.new_page()
        instrument(page, record)
        page.record = record
        contexts.append(context)
        return page

    yield make
    if getattr(request.node, "browser_failed", False):
        folder = ARTIFACTS / "failures"
        folder.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^\w.-]+", "_", request.node.name)[:120]
        for i, context in enumerate(contexts):
            for j, open_page in enumerate(context.pages):
                try:
                    open_page.screenshot(path=str(folder / f"{stem}-{i}-{j}.png"), full_page=True)
                    (folder / f"{stem}-{i}-{j}.html").write_text(open_page.content())
                except Exception as exc:  # noqa: BLE001 - best effort on a failed test
                    print(f"could not save the failed page: {exc}")
    for context in contexts:
        _leave_and_settle(context)
        context.close()


# Requests the live server is still answering. The browser's own count is not enough: a
# page left for about:blank cancels its requests on the browser's side while the server
# still runs them, and one holding a row lock deadlocks the flush between tests.
_serving = 0
_serving_lock = threading.Lock()
_wsgi_call = WSGIHandler.__call__


def _counted_wsgi_call(self, environ, start_response):
    global _serving
    with _serving_lock:
        _serving += 1
    try:
        return _wsgi_call(self, environ, start_response)
    finally:
        with _serving_lock:
            _serving -= 1


WSGIHandler.__call__ = _counted_wsgi_call


def _leave_and_settle(context, timeout: float = 5.0) -> None:
    """Leave every page (as closing the tab would: the compose page's autosave sends its
    last save), then wait for the live server to answer what is in flight, so no request
    touches the database while the test's data is being flushed."""
    for open_page in context.pages:
        try:
            open_page.goto("about:blank")
        except PlaywrightError:
            pass
    deadline = time.monotonic() + timeout
    while context.in_flight and time.monotonic() < deadline and context.pages:
        context.pages[0].wait_for_timeout(50)
    deadline = time.monotonic() + 2 * timeout
    while _serving and time.monotonic() < deadline:
        time.sleep(0.05)


def csp_violations(page) -> list:
    return page.evaluate("window.__cspViolations || []")


def shot(page, name: str, folder: str = "") -> Path:
    """Save a screenshot under test-artifacts/browser/[folder/]name.png."""
    target = ARTIFACTS / folder if folder else ARTIFACTS
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/auth/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    # Until the next page's load event its scripts may not have run: a click then would
    # be a plain link's full page load instead of htmx's swap. (A refused login loads the
    # login page again.)
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Log in").click()


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/auth/login/"))


# Mail ------------------------------------------------------------------------


@pytest.fixture
def devmail():
    """devmail in-process: SMTP and POP3 on free loopback ports, files in a temp dir."""
    root = Path(tempfile.mkdtemp(prefix="webmail-browser-devmail-"))
    server = DevMail(root, "example.test", smtp=("127.0.0.1", 0), pop3=("127.0.0.1", 0))
    for name in ("alice", "bob", "carol"):
        server.add_user(f"{name}@example.test", f"{name}-mail")
    server.start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


def devmail_user(server: DevMail, username: str, **extra):
    """A webmail user whose one mail account is `username@example.test` on devmail."""
    user = make_user(username, **extra)
    smtp_host, smtp_port = server.smtp_address
    pop3_host, pop3_port = server.pop3_address
    make_account(
        user,
        email=f"{username}@example.test",
        display_name=username.capitalize(),
        pop3_host=pop3_host,
        pop3_port=pop3_port,
        pop3_security="none",
        pop3_login=f"{username}@example.test",
        pop3_password=f"{username}-mail",
        smtp_host=smtp_host,
        smtp_port=smtp_port,
        smtp_security="none",
        smtp_login="",
        smtp_password="",
    )
    return user


_uidls = itertools.count(1)


def store(account, raw: bytes, **kwargs):
    """Ingest raw bytes as if fetched over POP3 (mailbox.ingest.store_message)."""
    return ingest.store_message(account, raw, f"browser-{next(_uidls)}", **kwargs)
