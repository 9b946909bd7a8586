#!/usr/bin/env bash
# Install what the Dovecot-backed POP3 tests need (Debian/Ubuntu, run as root or via sudo).
# Idempotent: does nothing when everything is already present.
# The tests start their own Dovecot from a temporary config, so the packaged
# system service is stopped and disabled (it would otherwise hold ports 110/995).
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

need=()
[ -x /usr/sbin/dovecot ] || need+=(dovecot-pop3d)
command -v openssl >/dev/null 2>&1 || need+=(openssl)

if [ "${#need[@]}" -gt 0 ]; then
    echo "install-dovecot: installing ${need[*]}"
    # Keep the package's maintainer scripts from starting the service.
    policy_rc=/usr/sbin/policy-rc.d
    made_policy=0
    if [ ! -e "$policy_rc" ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy_rc" >/dev/null
        $SUDO chmod +x "$policy_rc"
        made_policy=1
    fi
    cleanup() { if [ "$made_policy" = 1 ]; then $SUDO rm -f "$policy_rc"; fi; }
    trap cleanup EXIT
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
else
    echo "install-dovecot: dovecot-pop3d and openssl already installed"
fi

# Make sure the packaged instance is not running and will not start at boot.
if command -v systemctl >/dev/null 2>&1; then
    # Works offline too (without a running systemd it just removes the links).
    $SUDO systemctl disable dovecot.service dovecot.socket >/dev/null 2>&1 || true
    if [ -d /run/systemd/system ]; then
        $SUDO systemctl stop dovecot.service dovecot.socket >/dev/null 2>&1 || true
    fi
fi
if [ ! -d /run/systemd/system ] && [ -x /etc/init.d/dovecot ]; then
    $SUDO /etc/init.d/dovecot stop >/dev/null 2>&1 || true
fi
if command -v update-rc.d >/dev/null 2>&1; then
    $SUDO update-rc.d dovecot disable >/dev/null 2>&1 || true
fi
# A system instance started without systemd leaves its master pid here.
if [ -f /run/dovecot/master.pid ]; then
    pid="$(cat /run/dovecot/master.pid 2>/dev/null || true)"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
        && grep -q dovecot "/proc/$pid/comm" 2>/dev/null; then
        $SUDO kill "$pid" || true
    fi
fi

/usr/sbin/dovecot --version
