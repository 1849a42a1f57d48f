#!/bin/sh
# Makes sure the Debian packages named as arguments are installed: installs the missing ones with
# apt-get when running as root (or with password-less sudo), otherwise says what to run.
#   sh scripts/ensure-system-packages.sh redis-server chromium ffmpeg python3-pytest
set -e

present() {
  case "$1" in
    python3-pytest) python3 -c 'import pytest' 2>/dev/null || /usr/bin/python3 -c 'import pytest' 2>/dev/null ;;
    systemd) command -v systemd-analyze >/dev/null 2>&1 ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

missing=""
for package in "$@"; do
  present "$package" || missing="$missing $package"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
  as_root=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root="sudo"
else
  echo "wgp-farm needs:$missing. Install them with: sudo apt-get install$missing" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "wgp-farm needs:$missing (no apt-get here: install them with your package manager)" >&2
  exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$as_root apt-get update -qq
# shellcheck disable=SC2086
$as_root apt-get install -y -qq --no-install-recommends $missing
