"""The home-screen name and the admin's own headings follow the visitor's language."""

import json

import pytest
from django.urls import reverse


@pytest.mark.parametrize(("language", "name"), [("ko", "웹메일"), ("en", "Webmail")])
def test_the_app_manifest_names_the_app_in_the_visitors_language(client, language, name):
    response = client.get("/manifest.webmanifest", HTTP_ACCEPT_LANGUAGE=language)
    manifest = json.loads(response.content)
    assert (manifest["name"], manifest["short_name"], manifest["lang"]) == (name, name, language)
    assert "public" not in response["Cache-Control"]  # one visitor's language is not another's
    assert "Accept-Language" in response["Vary"]


def test_the_admin_index_is_headed_in_korean(client, charlie):
    client.force_login(charlie)
    html = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "웹메일 관리" in html
    assert "사용자와 메일 계정" in html
    assert "Webmail administration" not in html
