#!/usr/bin/env bash
# Make sure a headless Chromium is available for the report test (tests/test_report*.py).
# Exits 0 at once when `chromium` (or chromium-browser / google-chrome) is on PATH; otherwise
# installs Debian's `chromium` package with apt-get (needs root or sudo) and says so.
#   bash scripts/ensure_chromium.sh
set -euo pipefail

for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then
    echo "ensure_chromium: found $(command -v "$b") ($("$b" --version 2>/dev/null | head -n 1 || echo 'version unknown'))"
    exit 0
  fi
done

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_chromium: no chromium on PATH and no apt-get to install it; install Chromium by hand" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "ensure_chromium: installing chromium needs root (or sudo)" >&2
    exit 1
  fi
fi
echo "ensure_chromium: chromium not found; installing Debian package 'chromium' with apt-get"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq chromium   # with recommends: fonts-liberation renders the text
echo "ensure_chromium: installed $(command -v chromium) ($(chromium --version 2>/dev/null | head -n 1))"
