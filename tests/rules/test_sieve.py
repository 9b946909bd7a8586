"""Sieve through the settings pages: export, import (all or nothing), round trip."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from rules.editing import rule_list
from tests.rules.helpers import add_rule

pytestmark = pytest.mark.django_db

REFUSED = b"""require ["fileinto", "vacation"];
if header :contains "subject" "invoice" {
    fileinto "Invoices";
}
if true {
    vacation "I am away";
}
"""


def some_rules(owner):
    add_rule(
        owner,
        "Invoices",
        [("from", "contains", "billing@"), ("size", "over", "1048576")],
        [("move", "Money/Invoices"), ("mark_read",)],
        match="any",
        stop=True,
    )
    add_rule(owner, "Lists", [("header", "contains", "python.org", "List-Id")], [("flag",)])
    add_rule(owner, "Phone", [("subject", "matches", "URGENT*")], [("forward", "me@phone.test")])
    add_rule(owner, "Off", [("has_attachment", "is", "yes")], [("trash",)], enabled=False)
    add_rule(owner, "견적", [("body", "contains", "견적서")], [("move", "Archive")])


def test_export_then_import_gives_the_same_rules(alice_client, alice):
    some_rules(alice)
    before = rule_list(alice)

    response = alice_client.get(reverse("rule_export"))
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="rules.sieve"'
    script = response.content
    assert b'fileinto "Money/Invoices";' in script

    upload = SimpleUploadedFile("rules.sieve", script, content_type="application/sieve")
    response = alice_client.post(reverse("rule_import"), {"script_file": upload, "mode": "replace"})
    assert response.status_code == 302
    assert rule_list(alice) == before


def test_import_appends_after_the_users_rules(alice_client, alice):
    add_rule(alice, "Mine", [], [("flag",)])
    script = (
        'require ["fileinto"];\n# rule:[News]\n'
        'if header :contains "subject" "news" {\n  fileinto "News";\n}\n'
    )
    response = alice_client.post(reverse("rule_import"), {"script": script, "mode": "append"})
    assert response.status_code == 302
    assert [r.name for r in rule_list(alice)] == ["Mine", "News"]


def test_a_refused_script_reports_its_line_and_imports_nothing(alice_client, alice):
    add_rule(alice, "Mine", [], [("flag",)])
    response = alice_client.post(
        reverse("rule_import"), {"script": REFUSED.decode(), "mode": "replace"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Line 6: Automatic replies (vacation) cannot be imported as a rule." in page
    assert [r.name for r in rule_list(alice)] == ["Mine"]


def test_a_syntax_error_reports_its_line(alice_client, alice):
    script = 'require ["fileinto"];\nif header :contains "subject" "x" {\n  fileinto "A"\n}\n'
    response = alice_client.post(reverse("rule_import"), {"script": script, "mode": "append"})
    assert response.status_code == 400
    assert "Line 4: Syntax error: unexpected token" in response.content.decode()
    assert rule_list(alice) == []


def test_import_problems_are_in_korean_for_a_korean_user(alice_client, alice):
    alice.language = "ko"
    alice.save()
    response = alice_client.post(
        reverse("rule_import"), {"script": REFUSED.decode(), "mode": "append"}
    )
    page = response.content.decode()
    assert "6번째 줄" in page
    assert "vacation" in page and "Automatic replies" not in page


def test_import_needs_a_file_or_a_script(alice_client):
    response = alice_client.post(reverse("rule_import"), {"script": "  ", "mode": "append"})
    assert response.status_code == 400
    assert "Choose a file or paste a script." in response.content.decode()
