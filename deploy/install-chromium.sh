#!/usr/bin/env bash
# Installs Debian's Chromium (/usr/bin/chromium), which the dashboard's browser tests drive through
# Playwright (Playwright's own browser download does not work on the CI machines).
# Idempotent: does nothing when /usr/bin/chromium is already there.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "install-chromium: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium) is already installed"
  exit 0
fi
if [ ! -f /etc/debian_version ]; then
  echo "install-chromium: not Debian; install Chromium at /usr/bin/chromium by hand for the dashboard's browser tests" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-chromium: needs root (or sudo) to apt-get install chromium" >&2; exit 1; }
  SUDO="sudo"
fi
echo "install-chromium: installing Debian's chromium"
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version
