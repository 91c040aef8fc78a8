#!/usr/bin/env bash
# Installs what OVM Lab needs on a Debian machine and skips what is there:
# Debian packages (cross compiler, QEMU, gdb, InfluxDB), then a Python venv
# with the packages of pyproject.toml. Safe to run again and again; `make`
# runs it before every target that needs it.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
venv="$repo/.venv"

debian_packages=(
  make
  gcc-arm-none-eabi
  binutils-arm-none-eabi
  qemu-system-arm
  gdb-multiarch
  influxdb
)
python=${PYTHON:-python3}
# Debian's own python3 makes venvs only with python3-venv installed.
if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  debian_packages+=(python3-venv)
fi

say() { printf '[setup] %s\n' "$*"; }

missing=()
for pkg in "${debian_packages[@]}"; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" != "installed" ]; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  elif command -v sudo >/dev/null 2>&1 && [ -t 0 ]; then
    as_root=(sudo)
  else
    say "missing Debian packages: ${missing[*]}"
    say "run as root, or give this user sudo, or install them yourself:"
    say "  apt-get install -y ${missing[*]}"
    exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x "$venv/bin/python" ]; then
  say "creating the Python venv in .venv"
  "$python" -m venv "$venv"
fi

# Reinstall only when pyproject.toml changed since the last install.
stamp="$venv/.ovm-lab-installed"
want=$(sha256sum "$repo/pyproject.toml" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing Python packages from pyproject.toml into .venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -e "$repo"
  echo "$want" >"$stamp"
fi
