#!/usr/bin/env bash
# Make sure the console's browser tests (tests/browser/) have a headless browser: Debian's `chromium`
# with its `chromium-driver` (chromedriver of the same version) and a font with Chinese glyphs (the
# screenshots are in Chinese). Missing and root with apt: install them. Otherwise say how, and exit 0
# (the browser tests then skip themselves with the same message) unless BROWSER_REQUIRED=1.
set -euo pipefail
packages=(chromium chromium-driver fonts-wqy-zenhei)

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
fonts=$(fc-list : family 2>/dev/null || true)
if ! grep -qi -e 'wqy' -e 'noto sans cjk' -e 'noto serif cjk' <<<"$fonts"; then
  missing+=(fonts-wqy-zenhei)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "browser: $(chromium --version 2>/dev/null | head -1), $(chromedriver --version 2>/dev/null | cut -d' ' -f1-2)"
  exit 0
fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} with apt-get (the console's browser tests need them) ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "browser: $(chromium --version 2>/dev/null | head -1), $(chromedriver --version 2>/dev/null | cut -d' ' -f1-2)"
  exit 0
fi

echo "warning: ${missing[*]} not installed; the console's browser tests will be skipped." >&2
echo "         Install them (Debian/Ubuntu: sudo apt-get install ${packages[*]})." >&2
[ "${BROWSER_REQUIRED:-0}" = 1 ] && exit 1
exit 0
