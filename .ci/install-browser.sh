#!/usr/bin/env bash
# Install what the real-browser tests (tests/browser, `pytest -m browser`) need:
#   - Debian's chromium and chromium-driver (apt; no test tool ever downloads a browser),
#   - fonts-nanum and fonts-noto-color-emoji, so Korean text and the attachment mark
#     render as glyphs, not boxes, in the screenshots,
#   - axe-core from npm into tests/browser/node_modules (the version pinned in
#     tests/browser/package.json), which the accessibility test injects into pages.
# Playwright for Python itself comes from requirements-dev.txt and drives
# /usr/bin/chromium through executable_path.
# Idempotent: does nothing when everything is already present. Debian/Ubuntu, as root or via sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
[ -d /usr/share/fonts/truetype/nanum ] || need+=(fonts-nanum)
[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || need+=(fonts-noto-color-emoji)
command -v npm >/dev/null 2>&1 || need+=(npm)

if [ "${#need[@]}" -gt 0 ]; then
    echo "install-browser: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Only refresh the package lists when they are missing (fresh image) or a
    # first attempt cannot find the packages.
    if ! compgen -G "/var/lib/apt/lists/*_Packages" >/dev/null \
        || ! $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"; then
        $SUDO apt-get update -qq
        $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
    fi
else
    echo "install-browser: chromium, chromium-driver, fonts and npm already installed"
fi

axe_dir=tests/browser
axe_version="$(sed -n 's/.*"axe-core": *"\([^"]*\)".*/\1/p' "$axe_dir/package.json")"
installed="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' \
    "$axe_dir/node_modules/axe-core/package.json" 2>/dev/null | head -n 1 || true)"
if [ -f "$axe_dir/node_modules/axe-core/axe.min.js" ] && [ "$installed" = "$axe_version" ]; then
    echo "install-browser: axe-core $axe_version already installed"
else
    echo "install-browser: installing axe-core $axe_version into $axe_dir/node_modules"
    (cd "$axe_dir" && npm install --no-audit --no-fund --ignore-scripts --no-package-lock)
fi

/usr/bin/chromium --version 2>/dev/null || /usr/lib/chromium/chromium --version
