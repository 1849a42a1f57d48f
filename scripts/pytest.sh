#!/bin/sh
# Runs pytest with the first Python that has it: $WGP_FARM_PYTHON, python3 on PATH, then Debian's
# /usr/bin/python3 (where .ci/run installs python3-pytest when PATH's python3 lacks pytest).
for py in "${WGP_FARM_PYTHON:-}" python3 /usr/bin/python3; do
  [ -n "$py" ] || continue
  if "$py" -c 'import pytest' 2>/dev/null; then
    exec "$py" -m pytest "$@"
  fi
done
echo "pytest not found: install it (Debian: apt-get install python3-pytest) or set WGP_FARM_PYTHON" >&2
exit 2
