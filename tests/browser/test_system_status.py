"""The admin's System status page in Chromium: the admin's look, no CSP violation, axe-clean."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mailbox.models import BeatDispatch, Outgoing, OutgoingStatus
from tests.browser.conftest import csp_violations, expect, shot
from tests.browser.test_accessibility import axe_source  # noqa: F401
from tests.conftest import PASSWORD, make_account, make_user

pytestmark = pytest.mark.browser

# axe on what this page adds: the admin's own header and breadcrumbs are Django's (its
# breadcrumb links differ from their text by colour only, as on every admin page).
RUN_AXE_ON_CONTENT = """async () => {
  const result = await axe.run("#content-main", {resultTypes: ["violations"]});
  return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" "))}));
}"""


@pytest.mark.parametrize(
    ("locale", "heading"), [("en-US", "System status"), ("ko-KR", "시스템 상태")]
)
def test_the_status_page_in_a_browser(new_page, axe_source, locale, heading):  # noqa: F811
    admin = make_user("root", is_staff=True, is_superuser=True)
    alice = make_user("alice")
    now = timezone.now()
    account = make_account(
        alice,
        last_poll_at=now - timedelta(minutes=2),
        last_poll_error="-ERR [AUTH] Authentication failed.",
        auth_failures=1,
        next_poll_at=now + timedelta(minutes=10),
    )
    Outgoing.objects.create(
        owner=alice, account=account, status=OutgoingStatus.QUEUED, queued_at=now
    )
    BeatDispatch.objects.create(task="mailbox.tasks.dispatch_polls", dispatched_at=now)
    page = new_page(locale=locale)
    page.context.add_init_script(path=str(axe_source))

    page.goto("/admin/login/")
    page.locator("#id_username").fill(admin.username)
    page.locator("#id_password").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("input[type=submit]").click()
    page.get_by_role("link", name=heading).click()

    expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
    expect(page.get_by_text("-ERR [AUTH] Authentication failed.")).to_be_visible()
    violations = page.evaluate(RUN_AXE_ON_CONTENT)
    assert violations == [], violations
    assert csp_violations(page) == []
    shot(page, f"admin-system-status-{locale}")
