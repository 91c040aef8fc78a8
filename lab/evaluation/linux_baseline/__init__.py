"""The Linux baseline: a process context switch, measured on the emulated board.

The paper compares OVM's vCPU switch with a Linux process context switch.
This module measures the latter where OVM is measured: QEMU's vexpress-a9
under ``-icount``, so both figures are virtual time (instructions × 2^shift
ns), deterministic, and not ns on silicon.

Debian's own armmp kernel boots with a busybox initramfs whose ``/init``
runs ``ctxsw`` (ctxsw.c next to this file, lmbench's lat_ctx method) and
powers off. The kernel, its device tree and busybox come from Debian's
armhf packages into ``build/linux-armhf/`` (``env/setup.sh`` fetches them);
the program and the initramfs are built here, into the same directory.

``-smp 1``: Debian's kernel does not boot under ``-icount`` with two CPUs,
and a process switch is measured on one CPU anyway; the CPU count goes with
the figure.
"""

from __future__ import annotations

import os
import re
import selectors
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import pandas as pd

from lab.linux.initramfs import char_device, directory, regular, symlink, write_initramfs
from lab.linux.programs import CROSS_CC
from lab.paths import LINUX_DIR, QEMU_ENV, REPO_ROOT
from lab.target.records import ParsedRecords, Rejected, parse_records

DEFAULT_ENV = QEMU_ENV
SOURCE = Path(__file__).with_name("ctxsw.c")
SERIES = "context_switch.linux"
# The guests' record writer and its formatter, compiled into ctxsw.
RECORD_SOURCES = (REPO_ROOT / "ovm/guests/lib/records.c", REPO_ROOT / "ovm/lib/format.c")
RECORD_INCLUDES = (REPO_ROOT / "ovm/guests/lib", REPO_ROOT / "ovm/lib/inc", REPO_ROOT / "ovm/include")

# quiet: the console carries little besides the records. norandmaps: no
# address-space randomisation of the two processes, so runs repeat.
# panic=-1 with QEMU's -no-reboot: a dead init ends QEMU at once instead of
# hanging until the timeout. (nokaslr is not given: 32-bit ARM has no KASLR,
# and the kernel hands a parameter it does not know to init.)
KERNEL_ARGS = "console=ttyAMA0 quiet norandmaps panic=-1 rdinit=/init"

INIT_MARK = "ctxsw-init:"
INIT_SCRIPT = f"""#!/bin/sh
# The Linux baseline's init, written by lab/linux_baseline: mount what ctxsw
# needs (sysconf reads the CPU count from /sys), run it, power off so that
# QEMU exits (-no-reboot turns the fallback reboot into an exit as well).
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
echo "{INIT_MARK} kernel $(/bin/busybox uname -r)" \\
  "clocksource $(/bin/busybox cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
/ctxsw
echo "{INIT_MARK} ctxsw exited with $?"
/bin/busybox poweroff -f
/bin/busybox reboot -f
"""

INFO_LINE = re.compile(r"^ctxsw: (cpus=.*)$", re.MULTILINE)
ICOUNT_SHIFT = re.compile(r"(?:^|,)shift=(\d+)(?:,|$)")


def _key_values(items: list[str]) -> dict[str, str]:
    """``key=value`` items (VERSION's lines, ctxsw's info line) as a dict."""
    return {key: value for key, sep, value in (item.partition("=") for item in items) if sep}


class BaselineError(RuntimeError):
    """The baseline could not be built or measured; the message says what was missing."""


@dataclass(frozen=True)
class LinuxFiles:
    """What env/setup.sh put into build/linux-armhf/."""

    kernel: Path
    dtb: Path
    busybox: Path
    kernel_release: str
    kernel_package: str

    @property
    def kernel_version(self) -> str:
        return f"{self.kernel_release} ({self.kernel_package})" if self.kernel_package else self.kernel_release


@dataclass(frozen=True)
class LinuxBaseline:
    """One measurement: the per-sample switch times and what they were measured on."""

    samples: pd.Series  # ns of QEMU's virtual time, one per sample, in order
    cpus: int
    icount_shift: int
    kernel_version: str
    method: str
    overhead_ns: int  # one process's pipe write+read pair, subtracted from every sample
    clock_ns: int  # one clock_gettime, subtracted from every sample's interval
    rounds_per_sample: int
    wall_seconds: float  # QEMU's run, boot included
    program_info: dict[str, str] = field(repr=False)  # ctxsw's "ctxsw: key=value ..." line
    parsed: ParsedRecords = field(repr=False)
    console: str = field(repr=False)

    @property
    def rejected(self) -> list[Rejected]:
        return self.parsed.rejected

    @property
    def instructions(self) -> pd.Series:
        """The samples as instruction counts: under -icount one instruction is 2^shift ns."""
        return self.samples / (1 << self.icount_shift)


def linux_files(linux_dir: Path = LINUX_DIR) -> LinuxFiles:
    """The kernel, dtb and busybox, or an error naming what is missing."""
    version_file = linux_dir / "VERSION"
    missing = [name for name in ("VERSION", "vexpress-v2p-ca9.dtb", "busybox")
               if not (linux_dir / name).is_file()]
    if missing:
        raise BaselineError(
            f"{linux_dir} lacks {', '.join(missing)}: run env/setup.sh "
            "(it fetches Debian's armhf kernel and busybox)"
        )
    fields = _key_values(version_file.read_text().splitlines())
    release = fields.get("kernel", "")
    kernel = linux_dir / f"vmlinuz-{release}"
    if not release or not kernel.is_file():
        raise BaselineError(f"{linux_dir} has no vmlinuz-{release or '*'} for its VERSION: run env/setup.sh")
    return LinuxFiles(kernel, linux_dir / "vexpress-v2p-ca9.dtb", linux_dir / "busybox",
                      release, fields.get("package", ""))


def build_program(out_dir: Path = LINUX_DIR) -> Path:
    """Compile ctxsw.c, statically, with the guests' record writer; returns the binary."""
    compiler = shutil.which(CROSS_CC)
    if compiler is None:
        raise BaselineError(f"{CROSS_CC} not found: run env/setup.sh")
    out_dir.mkdir(parents=True, exist_ok=True)
    binary = out_dir / "ctxsw"
    command = [
        compiler, "-static", "-O2", "-std=gnu11", "-Wall", "-Wextra", "-Werror",
        *(f"-I{path}" for path in RECORD_INCLUDES),
        str(SOURCE), *map(str, RECORD_SOURCES), "-o", str(binary),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BaselineError(f"building ctxsw failed:\n{shlex.join(command)}\n{result.stderr}")
    return binary


def build_initramfs(files: LinuxFiles, program: Path, out: Path | None = None) -> Path:
    """The gzip'd newc initramfs: busybox, /init, ctxsw, and /dev/console (written by the
    archive writer, so no root is needed for the device node)."""
    return write_initramfs([
        directory("dev"),
        char_device("dev/console", 5, 1),
        directory("proc"),
        directory("sys"),
        directory("bin"),
        regular("bin/busybox", files.busybox.read_bytes()),
        symlink("bin/sh", "busybox"),
        regular("init", INIT_SCRIPT.encode()),
        regular("ctxsw", program.read_bytes()),
    ], out or program.with_name("initramfs-ctxsw.cpio.gz"))


def icount_shift_from_env(env_file: Path = DEFAULT_ENV) -> int:
    """The -icount shift OVM is measured with (QEMUDriver extra_args), so both figures agree."""
    from lab.target.qemu_command import QemuMachine

    args = QemuMachine.from_env(env_file).extra_args
    for option, value in pairwise(args):
        if option == "-icount" and (match := ICOUNT_SHIFT.search(value)):
            return int(match[1])
    raise BaselineError(f"{env_file}: QEMUDriver extra_args has no -icount shift=N")


def qemu_command(qemu: str, files: LinuxFiles, initrd: Path, icount_shift: int, *,
                 kernel_args: str = KERNEL_ARGS,
                 serials: Sequence[str] = ("-serial", "stdio")) -> list[str]:
    """The QEMU command line. Everything that could differ between runs is pinned: no NIC,
    a virtual-clock RTC with a fixed date, no audio backend, no monitor, no reboot.
    ``kernel_args`` and ``serials`` (the ``-serial`` options, in UART order) let lab.linux
    boot the same machine with its console elsewhere."""
    return [
        qemu,
        "-M", "vexpress-a9,secure=on", "-smp", "1", "-m", "512M", "-cpu", "cortex-a9",
        "-kernel", str(files.kernel), "-dtb", str(files.dtb), "-initrd", str(initrd),
        "-append", kernel_args,
        "-icount", f"shift={icount_shift},align=off,sleep=off",
        "-display", "none", *serials, "-monitor", "none", "-nic", "none",
        "-audiodev", "none,id=snd0", "-global", "pl041.audiodev=snd0",
        "-rtc", "clock=vm,base=2020-01-01", "-no-reboot",
    ]


def _end_record(text: str) -> bool:
    return f"@ovm1 E {SERIES} " in text


def run_console(command: list[str], timeout: float, after_end: float = 15.0) -> tuple[str, bool]:
    """Run QEMU and collect its console until it exits; returns (console, exited by itself).

    QEMU gets ``after_end`` seconds to power off once the series has ended, and ``timeout``
    seconds in all. It is killed whatever happens, KeyboardInterrupt included."""
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,  # a ^C in the terminal reaches us, not QEMU, which we then kill
    )
    chunks: list[bytes] = []
    errors: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        with selectors.DefaultSelector() as selector:
            assert process.stdout is not None and process.stderr is not None
            selector.register(process.stdout, selectors.EVENT_READ, chunks)
            selector.register(process.stderr, selectors.EVENT_READ, errors)
            ended = False
            while selector.get_map():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                for key, _ in selector.select(remaining):
                    data = os.read(key.fd, 65536)
                    if not data:
                        selector.unregister(key.fileobj)
                    key.data.append(data)
                if not ended and _end_record(b"".join(chunks).decode(errors="replace")):
                    ended = True
                    deadline = min(deadline, time.monotonic() + after_end)
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()) + 1.0)
            exited = True
        except subprocess.TimeoutExpired:
            exited = False
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    console = b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")
    stderr = b"".join(errors).decode(errors="replace").strip()
    if stderr:
        console += "\n[qemu stderr]\n" + stderr + "\n"
    return console, exited


def _tail(console: str, lines: int = 25) -> str:
    return "\n".join(console.rstrip().splitlines()[-lines:]) or "(nothing)"


def _info(console: str) -> dict[str, str]:
    match = INFO_LINE.search(console)
    return _key_values(match[1].split()) if match else {}


def measure(icount_shift: int | None = None, *, env_file: Path = DEFAULT_ENV,
            linux_dir: Path = LINUX_DIR, timeout: float = 180.0) -> LinuxBaseline:
    """Build, boot and measure once. ``icount_shift`` defaults to the environment's, so the
    baseline is in the same virtual time as OVM's figures."""
    from lab.target.qemu_command import QemuMachine

    files = linux_files(linux_dir)
    program = build_program(linux_dir)
    initrd = build_initramfs(files, program)
    shift = icount_shift_from_env(env_file) if icount_shift is None else icount_shift
    qemu = QemuMachine.from_env(env_file).binary
    if shutil.which(qemu) is None:
        raise BaselineError(f"QEMU {qemu!r} (from {env_file}) not found: run env/setup.sh")

    start = time.monotonic()
    console, exited = run_console(qemu_command(qemu, files, initrd, shift), timeout)
    wall = time.monotonic() - start

    parsed = parse_records(console)
    if ("", SERIES) not in parsed.series:
        if not console.strip():
            what = "the kernel printed nothing (did it boot?)"
        elif INIT_MARK not in console:
            what = "the kernel did not reach /init"
        elif "@ovm1" not in console:
            what = "ctxsw printed no records"
        else:
            reasons = "; ".join(r.reason for r in parsed.rejected if r.series == SERIES)
            what = f"the series {SERIES} was incomplete ({reasons or 'no end record'})"
        ending = "QEMU exited" if exited else f"no result within {timeout:.0f} s"
        raise BaselineError(f"Linux baseline: {what}; {ending}. Console tail:\n{_tail(console)}")

    info = _info(console)
    if not info:
        raise BaselineError(f"ctxsw printed no 'ctxsw: cpus=...' line. Console tail:\n{_tail(console)}")
    samples = parsed.samples(SERIES)["value"].astype("int64").rename(SERIES)
    cpus = int(info["cpus"])
    rounds = int(info["rounds_per_sample"])
    method = (
        f"lmbench lat_ctx style: 2 processes on CPU 0 ping-pong 1 byte over 2 pipes; "
        f"sample = (time of {rounds} round trips - one clock_gettime) / {2 * rounds} "
        f"- one process's pipe write+read ({info['overhead_ns']} ns, a mean); "
        f"Linux {files.kernel_release} on QEMU vexpress-a9 -smp {cpus}, -icount shift={shift} "
        f"(virtual ns = {1 << shift} x instructions, not ns on silicon)"
    )
    return LinuxBaseline(
        samples=samples, cpus=cpus, icount_shift=shift, kernel_version=files.kernel_version,
        method=method, overhead_ns=int(info["overhead_ns"]), clock_ns=int(info["clock_ns"]),
        rounds_per_sample=rounds, wall_seconds=wall, program_info=info, parsed=parsed,
        console=console,
    )
