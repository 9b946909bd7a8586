"""Static files as production serves them: hashed names, cached for good by browsers.

With DEBUG off, `collectstatic` writes every file under a name with its content hash
(WhiteNoise's CompressedManifestStaticFilesStorage) and WhiteNoise serves those
names with a cache lifetime of ten years, so a repeat visit asks for none of them;
a new deploy changes the names. The JavaScript catalog is rendered per language,
so browsers revalidate it (ETag) instead.
"""

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import polib
import pytest
from django.core.management import call_command
from django.test.utils import override_settings

PRODUCTION_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"
HASHED = re.compile(r"\.[0-9a-f]{12}\.[a-z0-9]+$")
TEN_YEARS = 315_360_000


class Subresources(HTMLParser):
    """The URLs a page loads as it renders: stylesheets, icons, scripts, images, sprite."""

    def __init__(self):
        super().__init__()
        self.urls: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and {"stylesheet", "icon", "manifest"} & set(a["rel"].split()):
            self.urls.setdefault(a["href"], f"link {a['rel']}")
        elif tag == "script" and a.get("src"):
            self.urls.setdefault(a["src"], "script")
        elif tag == "img" and a.get("src"):
            self.urls.setdefault(a["src"], "img")
        elif tag == "use":
            self.urls.setdefault(a["href"].split("#")[0], "use")

    handle_startendtag = handle_starttag


def production_static(root: Path) -> dict:
    from django.conf import settings

    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": PRODUCTION_STORAGE}}
    return {"DEBUG": False, "STATIC_ROOT": str(root), "STORAGES": storages}


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> Path:
    """collectstatic into an empty STATIC_ROOT with the production storage (once)."""
    root = tmp_path_factory.mktemp("static")
    with override_settings(**production_static(root)):
        call_command("collectstatic", interactive=False, verbosity=0)
    return root


@pytest.fixture
def static_root(settings, collected) -> Path:
    """Production's static settings, served by WhiteNoise from the collected files."""
    for name, value in production_static(collected).items():
        setattr(settings, name, value)
    return collected


@pytest.fixture
def inbox_urls(static_root, alice_client, alice_account) -> dict[str, str]:
    response = alice_client.get("/")
    assert response.status_code == 200
    parser = Subresources()
    parser.feed(response.content.decode())
    return parser.urls


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_collectstatic_with_the_manifest_storage_hashes_every_file_the_pages_use(static_root):
    manifest = (static_root / "staticfiles.json").read_text()

    for name in [
        "css/app.css",
        "js/app.js",
        "vendor/htmx-2.0.11/htmx.min.js",
        "icons/sprite.svg",
        "icons/app.svg",
    ]:
        assert f'"{name}"' in manifest, name


def test_every_url_in_the_collected_stylesheets_resolves_to_a_collected_file(static_root):
    hashed_css = [p for p in static_root.rglob("*.css") if HASHED.search(p.name)]
    assert any(p.name.startswith("app.") for p in hashed_css)
    checked = 0

    for css in hashed_css:
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", css.read_text()):
            if url.startswith(("data:", "#")):
                continue
            path = urlsplit(url).path
            if path.startswith("/static/"):
                target = static_root / path.removeprefix("/static/")
            else:
                target = (css.parent / path).resolve()
            assert target.is_file(), f"{css.name}: url({url}) does not resolve"
            checked += 1
    assert checked  # Django admin's stylesheets have some, whatever ours have


def test_the_inbox_references_the_stylesheet_scripts_and_sprite_by_hashed_name(inbox_urls):
    static_urls = [u for u in inbox_urls if u.startswith("/static/")]
    names = " ".join(static_urls)

    for stem in ["css/app.", "js/app.", "vendor/htmx-2.0.11/htmx.min.", "icons/sprite."]:
        assert f"/static/{stem}" in names, stem
    for url in static_urls:
        assert HASHED.search(url), f"{url} ({inbox_urls[url]}) is not a hashed name"


def test_the_inbox_loads_nothing_from_another_origin(inbox_urls):
    for url in inbox_urls:
        assert url.startswith("/") and not url.startswith("//"), url


def test_whitenoise_serves_hashed_files_with_a_ten_year_immutable_cache(inbox_urls, alice_client):
    static_urls = [u for u in inbox_urls if u.startswith("/static/")]
    assert len(static_urls) >= 4

    for url in static_urls:
        response = alice_client.get(url)
        assert response.status_code == 200, url
        cache_control = response["Cache-Control"]
        assert f"max-age={TEN_YEARS}" in cache_control, (url, cache_control)
        assert "immutable" in cache_control, (url, cache_control)
        assert body(response), url


def test_an_unhashed_name_is_not_cached_for_long(static_root, client):
    response = client.get("/static/css/app.css")

    assert response.status_code == 200
    assert "immutable" not in response["Cache-Control"]


def test_whitenoise_serves_a_gzip_copy_to_browsers_that_accept_it(inbox_urls, alice_client):
    css = next(u for u in inbox_urls if u.startswith("/static/css/app."))

    plain = alice_client.get(css)
    zipped = alice_client.get(css, headers={"Accept-Encoding": "gzip"})

    assert zipped["Content-Encoding"] == "gzip"
    assert len(body(zipped)) < len(body(plain))


def test_the_manifest_names_its_icons_by_hashed_url(static_root, client):
    response = client.get("/manifest.webmanifest")

    icons = [icon["src"] for icon in response.json()["icons"]]
    assert icons
    for src in icons:
        assert HASHED.search(src), src
        assert "immutable" in client.get(src)["Cache-Control"]


def test_the_javascript_catalog_is_revalidated_and_unchanged_costs_no_body(
    inbox_urls, alice_client
):
    assert inbox_urls.get("/jsi18n/") == "script"

    first = alice_client.get("/jsi18n/")
    again = alice_client.get("/jsi18n/", headers={"If-None-Match": first["ETag"]})

    assert "no-cache" in first["Cache-Control"]
    assert again.status_code == 304
    assert again.content == b""


def test_the_javascript_catalog_etag_follows_the_language(settings, client):
    english = client.get("/jsi18n/", headers={"Accept-Language": "en"})
    settings.LANGUAGE_CODE = "ko"  # the browser's choice, or else the site's default

    korean = client.get(
        "/jsi18n/", headers={"Accept-Language": "ko", "If-None-Match": english["ETag"]}
    )

    assert korean.status_code == 200
    assert korean["ETag"] != english["ETag"]


def test_the_korean_javascript_catalog_carries_our_strings_and_not_the_admins(client):
    po = Path(__file__).resolve().parents[2] / "locale" / "ko" / "LC_MESSAGES" / "djangojs.po"
    ours = {
        # Django's catalog keys a message with a context as "context\x04message".
        f"{e.msgctxt}\x04{e.msgid}" if e.msgctxt else e.msgid
        for e in polib.pofile(str(po))
        if e.translated() and not e.obsolete
    }

    source = client.get("/jsi18n/", headers={"Accept-Language": "ko"}).content.decode()
    served = json.loads(re.search(r"const newcatalog = (\{.*?\});", source, re.S).group(1))

    assert ours
    assert ours <= set(served)
    assert "6 a.m." not in served  # the admin's calendar strings stay in the admin's catalog
