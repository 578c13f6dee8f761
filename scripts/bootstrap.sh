#!/usr/bin/env bash
# Set up collectsim in ./.venv: find a Python >= 3.12 by itself, create the virtualenv,
# install the package with its test extras. Re-running is cheap (skips when up to date).
#   COLLECTSIM_PYTHON=/path/to/python3.12   use this interpreter
set -euo pipefail
cd "$(dirname "$0")/.."

ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }

find_python() {
  local tried=() c root v
  if [ -n "${COLLECTSIM_PYTHON:-}" ]; then
    ok "$COLLECTSIM_PYTHON" && { echo "$COLLECTSIM_PYTHON"; return 0; }
    echo "bootstrap: COLLECTSIM_PYTHON=$COLLECTSIM_PYTHON is not a Python >= 3.12" >&2; return 1
  fi
  for c in python3.13 python3.12 python3; do
    tried+=("$c")
    if command -v "$c" >/dev/null 2>&1 && ok "$c"; then command -v "$c"; return 0; fi
  done
  # pyenv installs (their shims fail unless PYENV_VERSION is set, so use the binaries)
  root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
  for v in $(ls -d "$root"/versions/3.1[2-9]* 2>/dev/null | sort -V -r); do
    tried+=("$v/bin/python3")
    if [ -x "$v/bin/python3" ] && ok "$v/bin/python3"; then echo "$v/bin/python3"; return 0; fi
  done
  for c in /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9]; do
    [ -x "$c" ] && ok "$c" && { echo "$c"; return 0; }
  done
  echo "bootstrap: collectsim needs Python >= 3.12 and none was found (tried: ${tried[*]})." >&2
  echo "bootstrap: install one (e.g. 'pyenv install 3.12' or 'apt-get install python3.12 python3.12-venv')," >&2
  echo "bootstrap: or point COLLECTSIM_PYTHON at it." >&2
  return 1
}

if [ ! -x .venv/bin/python ] || ! ok .venv/bin/python; then
  py=$(find_python)
  echo "bootstrap: using $py ($("$py" --version 2>&1))" >&2
  rm -rf .venv
  "$py" -m venv .venv
fi

stamp=.venv/.collectsim-installed
want=$(cat pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "bootstrap: installing collectsim and its dependencies into .venv" >&2
  .venv/bin/python -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/python -m pip install --quiet -e ".[test]"
  echo "$want" > "$stamp"
fi
