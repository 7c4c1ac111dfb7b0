#!/usr/bin/env bash
# Make sure the system packages the bulletin service (R16) needs are installed: WeasyPrint's libraries
# (pango, pangoft2, harfbuzz's subsetter) to render the bulletin as PDF, Debian's Noto CJK fonts for its
# Chinese text, and poppler-utils (pdftotext, pdftoppm) for the test that reads the PDF back.
# Missing, root on Debian/Ubuntu: installed with apt-get. Missing otherwise: say what to install, fail.
# Called by the Makefile's `venv` and `test` targets; cheap when everything is there (dpkg only).
set -euo pipefail
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk poppler-utils)

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "warning: not a Debian system; make sure pango, harfbuzz, Noto CJK fonts and poppler-utils are installed" >&2
  exit 0
fi
missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} with apt-get ..."
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
echo "error: missing system packages: ${missing[*]}" >&2
echo "       install them with: sudo apt-get install ${missing[*]}" >&2
exit 1
