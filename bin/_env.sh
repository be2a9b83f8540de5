# Shared by bin/run and bin/test: a virtual environment with the pinned requirements.
# Sourced, not executed. Installs only when the requirements changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

find_python() {
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      echo "$candidate"; return 0
    fi
  done
  echo "NutriLearn needs Python 3.11 (python3.11 or python3 on PATH)." >&2
  return 1
}

ensure_venv() {  # $1: requirements file
  local requirements="$1" python stamp
  python="$(find_python)"
  if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv || {
      echo "Creating the virtual environment failed; on Debian install python3-venv (apt-get install python3-venv)." >&2
      return 1
    }
  fi
  stamp=".venv/.installed-$(cat requirements.txt "$requirements" | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "Installing $requirements into .venv (first run takes a few minutes: PyTorch is large) ..."
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -r "$requirements"
    rm -f .venv/.installed-*
    touch "$stamp"
  fi
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    echo "Need root to run: $*" >&2; return 1
  fi
}

apt_install() {  # install Debian packages that are missing
  local missing=()
  for package in "$@"; do dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
}
