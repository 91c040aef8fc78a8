#!/usr/bin/env bash
# Installs what OVM Lab needs on a Debian machine and skips what is there:
# Debian packages (cross compilers, QEMU, gdb, InfluxDB), Debian's armhf
# Linux kernel and busybox for the Linux baseline (build/linux-armhf/), rt-tests
# for the Linux host's user side (build/linux-armhf/rt-tests/), the kernel's
# headers for the OVM module (build/linux-armhf/headers/), then a Python
# venv with the packages of pyproject.toml. Safe to run again and
# again; `make` runs it before every target that needs it.
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
  # The Linux baseline (lab/linux_baseline): its user program (the C library
  # is only a Recommends of the compiler, which --no-install-recommends
  # skips), and cpio to look into initramfs images (the lab writes them itself).
  gcc-arm-linux-gnueabihf
  libc6-dev-armhf-cross
  cpio
  # The results tests open the run report and the nightly trend page in a real
  # browser (headless; pytest marker browser): Debian's chromium.
  chromium
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

# Sets as_root to the prefix that runs a command as root; fails if there is none.
try_root() {
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  elif command -v sudo >/dev/null 2>&1 && [ -t 0 ]; then
    as_root=(sudo)
  else
    return 1
  fi
}

# try_root, or say why root is needed ($1) and what to run by hand (the
# other arguments), and exit.
find_root() {
  try_root && return
  say "$1"
  say "run as root, or give this user sudo, or run this yourself:"
  shift
  for line in "$@"; do say "  $line"; done
  exit 1
}

# apt-get update fails as a whole when one index does (a mirror in the middle
# of a sync); the lists it did get are used, and what is still missing is
# reported by apt-get install or apt-get download below.
apt_update() {
  if ! "${as_root[@]}" apt-get update -qq; then
    say "apt-get update reported errors (above); going on with the package lists it has"
  fi
}

if [ ${#missing[@]} -gt 0 ]; then
  find_root "missing Debian packages: ${missing[*]}" "apt-get install -y ${missing[*]}"
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_update
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Makes apt know Debian's armhf packages, with lists as fresh as root allows;
# once per run, however many of the downloads below need it.
armhf_lists_ready=
armhf_lists() {
  [ -n "$armhf_lists_ready" ] && return
  if ! dpkg --print-foreign-architectures | grep -qx armhf; then
    find_root "Debian's armhf packages are not enabled" "dpkg --add-architecture armhf" "apt-get update"
    say "adding the Debian architecture armhf"
    "${as_root[@]}" dpkg --add-architecture armhf
    apt_update
  elif try_root; then
    apt_update
  else
    say "no root for apt-get update: going on with the package lists as they are"
  fi
  armhf_lists_ready=1
}

# The Linux baseline boots Debian's own armmp kernel on QEMU's vexpress-a9
# with a busybox initramfs. The files are taken out of Debian's armhf
# packages (apt-get download, dpkg-deb -x), not installed: this machine is
# not armhf. The kernel's version moves with Debian's updates, so it is
# resolved through the linux-image-armmp metapackage and written to VERSION.
linux_dir="$repo/build/linux-armhf"
have_linux() {
  [ -f "$linux_dir/VERSION" ] && [ -f "$linux_dir/vexpress-v2p-ca9.dtb" ] &&
    [ -x "$linux_dir/busybox" ] && compgen -G "$linux_dir/vmlinuz-*" >/dev/null
}
if ! have_linux; then
  say "fetching Debian's armhf kernel and busybox into build/linux-armhf"
  armhf_lists
  kernel=$(apt-cache depends linux-image-armmp:armhf |
    sed -n 's/^ *Depends: linux-image-\([^:]*-armmp\)\(:armhf\)\{0,1\}$/\1/p' | head -n 1)
  if [ -z "$kernel" ]; then
    say "linux-image-armmp:armhf names no linux-image-*-armmp package (apt-cache depends)"
    exit 1
  fi
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # As root, apt-get downloads as the user _apt: let _apt write here, or apt
  # warns that it downloads unsandboxed.
  if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi
  say "downloading linux-image-$kernel:armhf and busybox-static:armhf"
  (cd "$tmp" && apt-get download -qq "linux-image-$kernel:armhf" busybox-static:armhf)
  for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$tmp/root"; done
  dtb=$(find "$tmp/root" -name vexpress-v2p-ca9.dtb | head -n 1)
  if [ ! -f "$tmp/root/boot/vmlinuz-$kernel" ] || [ -z "$dtb" ] || [ ! -x "$tmp/root/bin/busybox" ]; then
    say "the downloaded packages lack vmlinuz-$kernel, vexpress-v2p-ca9.dtb or bin/busybox"
    exit 1
  fi
  mkdir -p "$linux_dir"
  rm -f "$linux_dir"/vmlinuz-*
  cp "$tmp/root/boot/vmlinuz-$kernel" "$dtb" "$linux_dir/"
  cp "$tmp/root/bin/busybox" "$linux_dir/busybox"
  {
    echo "kernel=$kernel"
    echo "package=linux-image-$kernel:armhf $(dpkg-deb -f "$tmp"/linux-image-*.deb Version)"
    echo "busybox=busybox-static:armhf $(dpkg-deb -f "$tmp"/busybox-static_*.deb Version)"
  } >"$linux_dir/VERSION"
  rm -rf "$tmp"
  trap - EXIT
  say "build/linux-armhf: vmlinuz-$kernel, vexpress-v2p-ca9.dtb, busybox"
fi

# The Linux host's user side (lab/linux): rt-tests' cyclictest (with --json)
# and hackbench, unpacked from Debian's armhf packages like the kernel, with
# the one library they need that the cross C library (libc6-armhf-cross, the
# sysroot /usr/arm-linux-gnueabihf/lib) lacks: libnuma. Their C library and
# loader come from that sysroot; lab/linux/userland.py resolves every NEEDED
# entry and symbol version against the two when it builds the initramfs.
# (rt-tests' python3 dependency is for hwlatdetect, which is not used.)
rt_dir="$linux_dir/rt-tests"
rt_packages=(rt-tests:armhf libnuma1:armhf)
have_rt_tests() {
  [ -f "$rt_dir/VERSION" ] && [ -x "$rt_dir/usr/bin/cyclictest" ] &&
    [ -x "$rt_dir/usr/bin/hackbench" ] && compgen -G "$rt_dir/usr/lib/arm-linux-gnueabihf/libnuma.so.1*" >/dev/null
}
if ! have_rt_tests; then
  say "fetching Debian's armhf rt-tests into build/linux-armhf/rt-tests"
  armhf_lists
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # For apt's download user, as above.
  if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi
  say "downloading ${rt_packages[*]}"
  (cd "$tmp" && apt-get download -qq "${rt_packages[@]}")
  # Unpacked beside the final place and moved there whole, so that a failed
  # run leaves nothing that have_rt_tests would take for complete.
  for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$tmp/root"; done
  if [ ! -x "$tmp/root/usr/bin/cyclictest" ] || [ ! -x "$tmp/root/usr/bin/hackbench" ]; then
    say "the downloaded packages lack usr/bin/cyclictest or usr/bin/hackbench"
    exit 1
  fi
  {
    for pkg in "${rt_packages[@]}"; do
      name=${pkg%:*}
      echo "$name=$pkg $(dpkg-deb -f "$tmp/${name}"_*.deb Version)"
    done
    echo "libc=libc6-armhf-cross $(dpkg-query -W -f='${Version}' libc6-armhf-cross) (the sysroot's C library and loader)"
  } >"$tmp/root/VERSION"
  mkdir -p "$linux_dir"
  rm -rf "$rt_dir"
  mv "$tmp/root" "$rt_dir"
  rm -rf "$tmp"
  trap - EXIT
  say "build/linux-armhf/rt-tests: $(tr '\n' ' ' <"$rt_dir/VERSION")"
fi

# The OVM module for a Linux host (ovm/linux/module, built by lab/linux/module.py) is
# compiled against Debian's headers for the very kernel in build/linux-armhf:
# linux-headers-<kernel>:armhf and its -common package, unpacked into
# build/linux-armhf/headers, whose scripts are this machine's own linux-kbuild
# (installed: its tools run here). The one absolute path in the headers' Makefile
# is pointed at the unpacked copy.
headers_dir="$linux_dir/headers"
linux_kernel=$(sed -n 's/^kernel=//p' "$linux_dir/VERSION")
kbuild_pkg="linux-kbuild-$(echo "$linux_kernel" | cut -d. -f1,2)"
if [ "$(dpkg-query -W -f='${db:Status-Status}' "$kbuild_pkg" 2>/dev/null)" != "installed" ]; then
  find_root "missing Debian package: $kbuild_pkg (to build the OVM module)" "apt-get install -y $kbuild_pkg"
  say "installing Debian package $kbuild_pkg"
  export DEBIAN_FRONTEND=noninteractive
  if ! "${as_root[@]}" apt-get install -y -qq --no-install-recommends "$kbuild_pkg" >/dev/null; then
    apt_update
    "${as_root[@]}" apt-get install -y -qq --no-install-recommends "$kbuild_pkg" >/dev/null
  fi
fi
have_headers() {
  [ -f "$headers_dir/VERSION" ] && grep -qx "kernel=$linux_kernel" "$headers_dir/VERSION" &&
    grep -q "^include $headers_dir/" "$headers_dir/usr/src/linux-headers-$linux_kernel/Makefile"
}
if ! have_headers; then
  say "fetching Debian's armhf headers for $linux_kernel into build/linux-armhf/headers"
  armhf_lists
  common=${linux_kernel%-armmp}-common
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi
  (cd "$tmp" && apt-get download -qq "linux-headers-$linux_kernel:armhf" "linux-headers-$common")
  for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$tmp/root"; done
  makefile="$tmp/root/usr/src/linux-headers-$linux_kernel/Makefile"
  if [ ! -f "$makefile" ] || [ ! -d "/usr/lib/$kbuild_pkg" ]; then
    say "the headers' Makefile or /usr/lib/$kbuild_pkg is missing"
    exit 1
  fi
  rm -rf "$headers_dir"
  mkdir -p "$tmp/root/usr/lib"
  ln -sfn "/usr/lib/$kbuild_pkg" "$tmp/root/usr/lib/$kbuild_pkg"
  sed -i "s|^include /usr/src/linux-headers-$common/|include $headers_dir/usr/src/linux-headers-$common/|" "$makefile"
  {
    echo "kernel=$linux_kernel"
    echo "headers=linux-headers-$linux_kernel:armhf $(dpkg-deb -f "$tmp"/linux-headers-"$linux_kernel"_*.deb Version)"
    echo "kbuild=$kbuild_pkg $(dpkg-query -W -f='${Version}' "$kbuild_pkg")"
  } >"$tmp/root/VERSION"
  mv "$tmp/root" "$headers_dir"
  rm -rf "$tmp"
  trap - EXIT
  say "build/linux-armhf/headers: $(tr '\n' ' ' <"$headers_dir/VERSION")"
fi

if [ ! -x "$venv/bin/python" ]; then
  say "creating the Python venv in .venv"
  "$python" -m venv "$venv"
fi

# Reinstall only when pyproject.toml or the pinned versions changed since the last install.
stamp="$venv/.ovm-lab-installed"
want=$(cat "$repo/pyproject.toml" "$repo/env/constraints.txt" | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing Python packages from pyproject.toml into .venv, versions from env/constraints.txt"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -c "$repo/env/constraints.txt" -e "$repo[test]"
  echo "$want" >"$stamp"
fi
