"""First load of the Inbox: the CSS, JS, fonts and icons it transfers, and a repeat visit.

Static files are set up as production serves them: `collectstatic` into a temporary
STATIC_ROOT with WhiteNoise's CompressedManifestStaticFilesStorage (hashed names,
gzip copies), DEBUG off, served by WhiteNoiseMiddleware. A logged-in user's Inbox
(a full page of 50 rows) is rendered through the whole Django stack; every
same-origin asset it references is collected: `<link rel=stylesheet|icon|manifest>`,
`<script src>`, `<img src>`, the icon sprite of `<svg><use href>`, and what the
stylesheets reference with `url()` or `@import` (fonts, images). Each is requested
like a browser would, and summed:

- uncompressed bytes (the target: 150 KB, 1 KB = 1,000 bytes, for each language),
  and what a browser that accepts gzip receives (WhiteNoise's .gz; a dynamic
  response is sent as it is);
- its cache policy on a repeat visit: "immutable" (hashed name, a year or more of
  max-age: no request at all), "fresh" (a max-age of its own), "revalidate" (asked
  again with If-None-Match/If-Modified-Since; the 304 is checked here) or "none".

The icons the web app manifest names are only fetched when the app is installed;
they are listed apart and not summed. The HTML page itself is not counted.

    python -m bench.ui [--output DIR]
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from bench.bulk import MailboxSpec, load_mailboxes
from bench.cli import main_wrapper, parser
from bench.pages import client_for
from bench.report import machine, now_iso, table

NAME = "ui"
TARGET_BYTES = 150_000
IMMUTABLE_MIN_AGE = 365 * 24 * 3600
LANGUAGES = ["en", "ko"]  # when settings.LANGUAGES is Django's whole list
ORIGIN = "http://localhost"
HASHED = re.compile(r"\.[0-9a-f]{12}\.[A-Za-z0-9]+$")  # ManifestStaticFilesStorage names
CSS_REFERENCE = re.compile(
    r"""url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""", re.IGNORECASE
)
FONT = re.compile(r"\.(woff2?|ttf|otf|eot)$", re.IGNORECASE)
PRODUCTION_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"


# --------------------------------------------------------------------------- setup


@contextlib.contextmanager
def production_static(static_root: str | None = None) -> Iterator[str]:
    """Production's static files in this process: collectstatic with the manifest
    storage into a temporary STATIC_ROOT, DEBUG off. Clients made inside the block
    get a WhiteNoiseMiddleware that serves that directory."""
    from django.conf import settings
    from django.core.management import call_command
    from django.test.utils import override_settings

    root = static_root or tempfile.mkdtemp(prefix="webmail-bench-static-")
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": PRODUCTION_STORAGE}}
    try:
        with override_settings(DEBUG=False, STATIC_ROOT=root, STORAGES=storages):
            call_command("collectstatic", interactive=False, verbosity=0)
            yield root
    finally:
        if static_root is None:
            shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------- the page


class AssetParser(HTMLParser):
    """The subresources a page asks for as it loads: (kind, url) in document order."""

    RELS = {"stylesheet": "css", "icon": "icon", "manifest": "manifest", "preload": "preload"}

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "link" and a.get("href"):
            for rel in a.get("rel", "").lower().split():
                kind = self.RELS.get(rel) or ("icon" if "icon" in rel else None)
                if kind:
                    self.found.append((kind, a["href"]))
                    break
        elif tag == "script" and a.get("src"):
            self.found.append(("js", a["src"]))
        elif tag == "img" and a.get("src"):
            self.found.append(("image", a["src"]))
        elif tag == "use" and (a.get("href") or a.get("xlink:href")):
            self.found.append(("icon", a.get("href") or a["xlink:href"]))

    handle_startendtag = handle_starttag


def same_origin_path(url: str, base: str) -> str | None:
    """The path (and query) of a same-origin URL, without its fragment; None otherwise."""
    absolute = urljoin(base, url)
    parts = urlsplit(absolute)
    if f"{parts.scheme}://{parts.netloc}" != ORIGIN:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _body(response) -> bytes:
    if getattr(response, "streaming", False):
        data = b"".join(response.streaming_content)
        response.close()
        return data
    return response.content


def _max_age(cache_control: str) -> int | None:
    match = re.search(r"max-age=(\d+)", cache_control)
    return int(match.group(1)) if match else None


def fetch(client, path: str) -> dict:
    """One asset as a browser gets it: size, gzip size, and its repeat-visit policy."""
    response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}")
    body = _body(response)
    cache_control = response.get("Cache-Control", "")
    zipped = client.get(path, headers={"Accept-Encoding": "gzip"})
    zipped_body = _body(zipped)
    served_gzip = zipped.get("Content-Encoding") == "gzip"
    max_age = _max_age(cache_control)
    immutable = "immutable" in cache_control and (max_age or 0) >= IMMUTABLE_MIN_AGE
    validators = {h: response[h] for h in ("ETag", "Last-Modified") if response.has_header(h)}
    revalidated = None
    if validators:
        headers = {}
        if "ETag" in validators:
            headers["If-None-Match"] = validators["ETag"]
        if "Last-Modified" in validators:
            headers["If-Modified-Since"] = validators["Last-Modified"]
        again = client.get(path, headers=headers)
        revalidated = {"status": again.status_code, "bytes": len(_body(again))}
    if immutable:
        policy = "immutable"
    elif "no-cache" not in cache_control and "no-store" not in cache_control and max_age:
        policy = "fresh"
    elif revalidated and revalidated["status"] == 304:
        policy = "revalidate"
    else:
        policy = "none"
    return {
        "path": path,
        "content_type": response.get("Content-Type", "").split(";")[0],
        "bytes": len(body),
        "gzip_bytes": len(zipped_body) if served_gzip else len(gzip.compress(body, 9)),
        "served_gzip": served_gzip,
        "hashed_name": bool(HASHED.search(urlsplit(path).path)),
        "cache_control": cache_control,
        "max_age": max_age,
        "validators": validators,
        "revalidated": revalidated,
        "repeat_visit": policy,
        "_body": body,
    }


def first_load(client, page: str = "/") -> dict:
    """Every same-origin asset `page` references, each fetched once, and their sums."""
    response = client.get(page)
    if response.status_code != 200:
        raise RuntimeError(f"GET {page} answered {response.status_code}")
    parser = AssetParser()
    parser.feed(response.content.decode())
    base = ORIGIN + page
    queue = [(kind, path) for kind, url in parser.found if (path := same_origin_path(url, base))]
    foreign = [url for _, url in parser.found if same_origin_path(url, base) is None]
    assets: dict[str, dict] = {}
    install_only: dict[str, dict] = {}
    while queue:
        kind, path = queue.pop(0)
        if path in assets:
            continue
        asset = fetch(client, path)
        asset["kind"] = "font" if FONT.search(urlsplit(path).path) else kind
        assets[path] = asset
        body = asset.pop("_body")
        if asset["content_type"] == "text/css":
            for match in CSS_REFERENCE.finditer(body.decode("utf-8", "replace")):
                url = match.group(1) or match.group(2)
                if url.startswith("data:"):
                    continue
                if (found := same_origin_path(url, ORIGIN + path)) is not None:
                    queue.append(("css-ref", found))
        if kind == "manifest":
            for icon in json.loads(body).get("icons", []):
                if (found := same_origin_path(icon["src"], ORIGIN + path)) is not None:
                    install_only.setdefault(found, fetch(client, found))
    for asset in install_only.values():
        asset.pop("_body")
    counted = list(assets.values())
    by_kind: dict[str, int] = {}
    for a in counted:
        by_kind[a["kind"]] = by_kind.get(a["kind"], 0) + a["bytes"]
    repeat = [a for a in counted if a["repeat_visit"] != "immutable"]
    return {
        "page": page,
        "page_bytes": len(response.content),
        "requests": len(counted),
        "bytes": sum(a["bytes"] for a in counted),
        "gzip_bytes": sum(a["gzip_bytes"] for a in counted),
        "bytes_by_kind": by_kind,
        "fonts": [a["path"] for a in counted if a["kind"] == "font"],
        "foreign_urls": foreign,
        "assets": counted,
        "install_only": list(install_only.values()),
        "repeat_visit": {
            "requests": len([a for a in repeat if a["repeat_visit"] != "fresh"]),
            "bytes": sum(
                a["revalidated"]["bytes"] if a["repeat_visit"] == "revalidate" else a["bytes"]
                for a in repeat
                if a["repeat_visit"] in {"revalidate", "none"}
            ),
            "not_immutable": {a["path"]: a["repeat_visit"] for a in repeat},
        },
        "static_unhashed": [
            a["path"] for a in counted if a["path"].startswith("/static/") and not a["hashed_name"]
        ],
    }


# --------------------------------------------------------------------------- run


def languages_offered() -> list[str]:
    """settings.LANGUAGES when the project narrows them, else English and Korean."""
    from django.conf import global_settings, settings

    if settings.LANGUAGES is global_settings.LANGUAGES:
        return LANGUAGES
    return [code for code, _ in settings.LANGUAGES]


def run(user, languages: list[str] | None = None) -> dict:
    """The first load of `user`'s Inbox in each language, with production static files.

    The browser asks for the language (Accept-Language); it is also the default
    language, for a project without LocaleMiddleware.
    """
    from django.test.utils import override_settings

    out: dict = {"languages": {}}
    with production_static():
        for language in languages or languages_offered():
            with override_settings(LANGUAGE_CODE=language):
                client = client_for(user)
                client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
                load = first_load(client)
            load["meets_target"] = load["bytes"] <= TARGET_BYTES
            out["languages"][language] = load
    loads = out["languages"].values()
    out["max_bytes"] = max(load["bytes"] for load in loads)
    out["meets_target"] = all(load["meets_target"] for load in loads)
    out["all_static_hashed_and_immutable"] = all(
        not load["static_unhashed"]
        and all(
            a["repeat_visit"] == "immutable"
            for a in load["assets"]
            if a["path"].startswith("/static/")
        )
        for load in loads
    )
    return out


def kb(n: int) -> float:
    return round(n / 1000, 1)


def report(figures: dict, database: str) -> dict:
    rows = []
    for language, load in figures["languages"].items():
        for a in load["assets"]:
            rows.append(
                [
                    language,
                    a["kind"],
                    a["path"],
                    kb(a["bytes"]),
                    kb(a["gzip_bytes"]),
                    a["repeat_visit"],
                ]
            )
        rows.append(
            [
                language,
                "total",
                f"{load['requests']} requests",
                kb(load["bytes"]),
                kb(load["gzip_bytes"]),
                f"repeat: {load['repeat_visit']['requests']} request(s), "
                f"{load['repeat_visit']['bytes']} B",
            ]
        )
    print()
    print(table(["language", "kind", "asset", "KB", "gzip KB", "repeat visit"], rows))
    return {
        "benchmark": NAME,
        "date": now_iso(),
        "machine": machine(),
        "params": {
            "page": "/ (Inbox, 50 rows, logged in)",
            "languages": list(figures["languages"]),
            "storage": PRODUCTION_STORAGE,
            "database": database,
        },
        "targets": {
            "first_load_bytes_max": TARGET_BYTES,
            "repeat_visit": "every static file hashed and cached as immutable",
        },
        "figures": figures,
        "notes": [
            "KB = 1,000 bytes. bytes = uncompressed; gzip_bytes = what a gzip-capable "
            "browser receives (WhiteNoise's .gz copies; dynamic responses as sent, or "
            "gzip -9 of them when our stack sends them uncompressed: served_gzip false).",
            "The HTML page is not counted; icons named only by the web app manifest "
            "(install_only) are fetched when installing, not on load.",
            "Repeat visit: immutable = no request; revalidate = a conditional request "
            "answered 304 without a body; fresh = no request until its max-age runs out.",
        ],
    }


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.split("\n")[0])
    args = p.parse_args(argv)

    def body(db) -> dict:
        import logging

        from bench.database import database_version

        logging.getLogger("axes").setLevel(logging.WARNING)
        made = load_mailboxes(
            [MailboxSpec("ui", {"inbox": 120, "archive": 10, "sent": 10})], bulk_load=False
        )
        return report(run(made["ui"][0]), database_version())

    return main_wrapper(NAME, args, body)


if __name__ == "__main__":
    main()
