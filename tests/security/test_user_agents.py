"""Browser and system in a few words, from the User-Agent header."""

import pytest

from security.useragent import summarize

CASES = [
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        "Edge on Windows",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-S918N) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
        "Samsung Internet on Android",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Whale/4.29.282.14 Safari/537.36",
        "Whale on Windows",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/18.1 Safari/605.1.15",
        "Safari on macOS",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
        "Chrome on iOS",
    ),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Linux"),
    ("curl/8.5.0", "curl"),
    ("", "Unknown browser"),
    ("<script>alert(1)</script>", "Unknown browser"),
]


@pytest.mark.parametrize(("header", "summary"), CASES)
def test_summary(header, summary):
    assert summarize(header) == summary
