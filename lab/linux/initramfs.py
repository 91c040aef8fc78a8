"""Initramfs images: a newc cpio writer, and the "host" image Linux runs under OVM.

The writer makes archives that repeat byte for byte (owner root, mtime 0,
members in the order given, gzip without a time stamp), and writes device
nodes itself, so no root is needed. The Linux baseline's image is written
with it as well.

The host image (``build/linux-armhf/initramfs-host.cpio.gz``) holds busybox
with links for the applets the lab uses, rt-tests' cyclictest and hackbench
with their libraries and loader (``lab.linux.userland``), the lab's own programs
(``lab.linux.programs``: vfpcheck, switchprobe, ovm-hostd), the OVM module
(``lab.linux.module``, as ``MODULE_PATH``), and an ``/init`` that mounts proc,
sysfs and devtmpfs, prints ``INIT_MARK`` with the kernel's release, and, when
the device tree has OVM's doorbell node (Linux is OVM's host), loads the module
and starts ``ovm-hostd`` (its output in ``HOSTD_LOG``); then it keeps an
interactive shell with the prompt ``PROMPT``
on ``/dev/console`` (restarted whenever it exits). No login: the console is
the lab's alone, and labgrid's ShellDriver takes a prompt as it is.
``/dev/console`` is whichever UART the kernel's ``console=`` names
(``ttyAMA1`` under OVM and natively), so ``/init`` names no tty.
"""

from __future__ import annotations

import gzip
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lab.paths import LINUX_DIR

from . import LinuxUserError
from .module import build_module
from .programs import build_lab_programs
from .userland import find_userland

HOST_INITRAMFS = "initramfs-host.cpio.gz"
PROMPT = "ovm-linux# "
INIT_MARK = "ovm-linux-init:"
MODULE_PATH = "/lib/modules/ovm.ko"
HOSTD_LOG = "/tmp/ovm-hostd.log"
# In the VM's device tree only when Linux is OVM's host (lab.firmware.devicetree).
DOORBELL_NODE = "/proc/device-tree/ovm"
# The busybox applets linked in /bin: what /init, labgrid's ShellDriver and the tests run,
# and the usual tools for a look around by hand.
APPLETS = (
    "sh", "ash", "cat", "cp", "cttyhack", "dd", "dmesg", "echo", "env", "false", "free",
    "grep", "head", "hexdump", "insmod", "kill", "ln", "ls", "lsmod", "md5sum", "mkdir",
    "mount", "mv", "nproc", "pidof", "poweroff", "printf", "ps", "reboot", "rm", "rmmod", "sed",
    "seq", "setsid", "sleep", "sort", "stty", "sync", "tail", "taskset", "tee", "test", "time",
    "timeout", "top", "tr", "true", "umount", "uname", "uptime", "wc",
)

INIT_SCRIPT = f"""#!/bin/sh
# The host initramfs's init, written by lab/linux/initramfs.py.
export PATH=/bin HOME=/root TERM=vt100 LS_COLORS=none PS1='{PROMPT}'
mount -t proc proc /proc
mount -t sysfs sysfs /sys
# devtmpfs has the tty behind /dev/console, which cttyhack opens below; without
# it the archive's own /dev/console serves, without job control.
mount -t devtmpfs devtmpfs /dev 2>/dev/null || echo "{INIT_MARK} no devtmpfs"
# POSIX shared memory: cyclictest keeps its live statistics there.
mkdir -p /dev/shm && mount -t tmpfs -o mode=1777 tmpfs /dev/shm
# Only panics on the console from here: a kernel line inside a command's
# output would end up in what the lab parses.
dmesg -n 1
echo "{INIT_MARK} kernel $(uname -r)"
# OVM's host: /proc/ovm, and the daemon that serves NRT guests' devices.
if [ -e {DOORBELL_NODE} ]; then
  if insmod {MODULE_PATH}; then
    setsid ovm-hostd >{HOSTD_LOG} 2>&1 </dev/null &
    echo "{INIT_MARK} ovm module loaded, ovm-hostd started"
  else
    echo "{INIT_MARK} ovm module failed to load"
  fi
fi
while :; do
  # setsid + cttyhack: the shell in a session of its own, with the console's
  # tty as its controlling terminal, so that ^C interrupts a command.
  setsid cttyhack sh
  echo "{INIT_MARK} shell exited with $?, starting another"
  sleep 1
done
"""


@dataclass(frozen=True)
class Member:
    """One archive member: a path without leading slash, its mode (type and permissions)."""

    name: str
    mode: int
    data: bytes = b""
    rdev: tuple[int, int] = (0, 0)  # (major, minor) of a device node


def directory(name: str, permissions: int = 0o755) -> Member:
    return Member(name, stat.S_IFDIR | permissions)


def regular(name: str, data: bytes, permissions: int = 0o755) -> Member:
    return Member(name, stat.S_IFREG | permissions, data)


def symlink(name: str, target: str) -> Member:
    return Member(name, stat.S_IFLNK | 0o777, target.encode())


def char_device(name: str, major: int, minor: int, permissions: int = 0o600) -> Member:
    return Member(name, stat.S_IFCHR | permissions, rdev=(major, minor))


def pad4(length: int) -> bytes:
    return b"\0" * (-length % 4)


def cpio_entry(name: str, mode: int, data: bytes = b"", ino: int = 0,
               rdev: tuple[int, int] = (0, 0)) -> bytes:
    """One newc (SVR4, no CRC) member; owner root, mtime 0, so the archive repeats byte for byte."""
    encoded = name.encode() + b"\0"
    fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(encoded), 0)
    header = b"070701" + b"".join(f"{value:08x}".encode() for value in fields)
    # Header with name, and data, each padded to a multiple of 4 bytes.
    return header + encoded + pad4(len(header) + len(encoded)) + data + pad4(len(data))


def newc_archive(members: Iterable[Member]) -> bytes:
    """The members in order, inode numbers from 1, then the trailer."""
    return b"".join(
        cpio_entry(member.name, member.mode, member.data, ino, member.rdev)
        for ino, member in enumerate(members, start=1)
    ) + cpio_entry("TRAILER!!!", 0)


def write_initramfs(members: Iterable[Member], out: Path) -> Path:
    """The gzip'd archive at ``out``; the file is left alone (time stamp included) when it
    already holds these bytes, so that what embeds it is not rebuilt for nothing."""
    image = gzip.compress(newc_archive(members), mtime=0)
    if not (out.is_file() and out.read_bytes() == image):
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        partial.write_bytes(image)
        partial.replace(out)
    return out


def host_members(busybox: Path, programs: dict[str, Path], libraries: dict[str, Path],
                 lab_programs: dict[str, Path], module: Path) -> list[Member]:
    """The host image's members: programs go to /bin, libraries (by soname, the loader
    among them) to /lib, in sorted order so that the archive does not depend on a dict's."""
    return [
        directory("dev"),
        char_device("dev/console", 5, 1),
        directory("proc"),
        directory("sys"),
        directory("root", 0o700),
        directory("tmp", 0o1777),
        directory("bin"),
        regular("bin/busybox", busybox.read_bytes()),
        *(symlink(f"bin/{applet}", "busybox") for applet in APPLETS),
        *(regular(f"bin/{name}", programs[name].read_bytes()) for name in sorted(programs)),
        *(regular(f"bin/{name}", lab_programs[name].read_bytes())
          for name in sorted(lab_programs)),
        directory("lib"),
        *(regular(f"lib/{name}", libraries[name].read_bytes()) for name in sorted(libraries)),
        directory("lib/modules"),
        regular(MODULE_PATH.lstrip("/"), module.read_bytes(), 0o644),
        regular("init", INIT_SCRIPT.encode()),
    ]


def build_host_initramfs(linux_dir: Path = LINUX_DIR, out: Path | None = None) -> Path:
    """Build (the lab's programs where their source changed, the archive always: about a
    second) and return ``linux_dir``/initramfs-host.cpio.gz, or ``out``."""
    busybox = linux_dir / "busybox"
    if not busybox.is_file():
        raise LinuxUserError(f"{busybox} missing: run env/setup.sh (it fetches busybox-static)")
    userland = find_userland(linux_dir)
    members = host_members(busybox, userland.programs, userland.libraries,
                           build_lab_programs(linux_dir), build_module(linux_dir))
    return write_initramfs(members, out or linux_dir / HOST_INITRAMFS)
