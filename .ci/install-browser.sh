#!/usr/bin/env bash
# CI: installs Debian's chromium for the dashboard's browser test (integration/dashboard.test.ts,
# driven by playwright-core, which brings no browser of its own). Best effort: it never fails
# the build. Without a browser that test skips and says so in its name.
set -u

say() { echo "install-browser: $*"; }

if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "${CHROMIUM_PATH}" ]; then
  say "CHROMIUM_PATH=${CHROMIUM_PATH} is set; nothing to install"
  exit 0
fi
if [ -x /usr/bin/chromium ]; then
  say "found /usr/bin/chromium; nothing to install"
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  say "no /usr/bin/chromium and not root: not installing (the dashboard browser test will skip)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  say "no /usr/bin/chromium and no apt-get: not installing (the dashboard browser test will skip)"
  exit 0
fi

say "installing Debian's chromium with apt-get"
log="$(mktemp)"
if DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 &&
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >>"$log" 2>&1; then
  say "installed: $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium (version unknown)')"
else
  say "could not install chromium (the dashboard browser test will skip); last lines of apt-get:"
  tail -n 5 "$log" | sed 's/^/  /'
fi
rm -f "$log"
exit 0
