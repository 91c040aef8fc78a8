"""Booting a Linux scenario under OVM through labgrid, and what the test modules here
read from a Linux shell (the kernel's release, the CPU's features, vfpcheck's line).

OVM's console stays on UART0 (the QEMUDriver, as in every test); Linux's console
is UART1, QEMU's second serial port, added to the QEMUDriver's command line on a
free loopback port and reached by LinuxShell (NetworkSerialPort, SerialDriver,
ShellDriver). Whatever happens, QEMU is powered off and the driver deactivated,
so the next image gets a command line without this port.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lab.linux.shell import LinuxShell, free_port, qemu_driver_add_console
from lab.paths import LINUX_DIR, REPO_ROOT

VFPCHECK_LINE = re.compile(r"^vfpcheck: iterations=(\d+) .*\berrors=(\d+) "
                           r"result=(\S+) expected=(\S+)")


def needs_linux_files() -> None:
    if not (LINUX_DIR / "VERSION").is_file() or not (LINUX_DIR / "rt-tests").is_dir():
        pytest.skip("no build/linux-armhf (kernel, busybox, rt-tests): run env/setup.sh")


def debian_release() -> str:
    """The kernel release env/setup.sh unpacked (build/linux-armhf/VERSION)."""
    return dict(line.split("=", 1) for line in
                (LINUX_DIR / "VERSION").read_text().splitlines())["kernel"]


def cpu_features(shell: LinuxShell) -> set[str]:
    """/proc/cpuinfo's Features."""
    (features,) = [line for line in shell.run_check("cat /proc/cpuinfo")
                   if line.startswith("Features")]
    return set(features.split(":", 1)[1].split())


def vfpcheck_summary(lines: list[str]) -> re.Match[str]:
    """vfpcheck's one summary line among its output: iterations, errors, result, expected."""
    (match,) = [m for m in map(VFPCHECK_LINE.match, lines) if m]
    return match


@contextmanager
def linux_under_ovm(env, target, scenario: str, *, boot_s: float, transcript: Path,
                    before_shell: Callable[[LinuxShell], None] | None = None,
                    ) -> Iterator[tuple[object, LinuxShell]]:
    """OVM booted with ``scenario``, a shell open on its Linux VM's console; both ended
    after. ``before_shell`` runs between /init's marker and the shell's start."""
    from lab.firmware.build import build

    needs_linux_files()
    board = env.config.get_option("ovm_board", None)
    strategy = target.get_driver("OVMStrategy")
    strategy.select_image(build(board, scenario, repo_root=REPO_ROOT).elf)
    strategy.transition("off")
    qemu = strategy.power
    # Activated now, so that its command (built at activation) is the one that starts.
    target.activate(qemu)
    port = free_port()
    qemu_driver_add_console(qemu, port)
    try:
        strategy.transition("ovm")
        shell = LinuxShell(port, boot_timeout=boot_s, transcript_path=transcript)
        try:
            shell.await_boot_marker()
            if before_shell is not None:
                before_shell(shell)
            shell.open()
            yield strategy, shell
        finally:
            shell.close()
    finally:
        strategy.transition("off")
        target.deactivate(qemu)
        strategy.select_image(None)


def report(pytestconfig: pytest.Config, line: str) -> None:
    """A figure printed past pytest's capture: what a run's log should show."""
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n{line}")
