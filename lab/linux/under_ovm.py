"""A Linux scenario booted under OVM through labgrid, with a shell on its Linux VM.

OVM's console stays on UART0 (the QEMUDriver, as in every boot); Linux's console
is UART1, QEMU's second serial port, added to the QEMUDriver's command line on a
free loopback port and reached by LinuxShell (NetworkSerialPort, SerialDriver,
ShellDriver). Whatever happens, QEMU is powered off and the driver deactivated,
so the next image gets a command line without this port. QEMU only: on a ZC702,
Linux's console is the board's second UART on a serial server of its own, which
no environment here describes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from labgrid import Target

from lab.firmware.build import build
from lab.paths import LINUX_DIR, REPO_ROOT

from . import LinuxUserError
from .shell import LinuxShell, free_port, qemu_driver_add_console


def linux_files_present(linux_dir: Path = LINUX_DIR) -> bool:
    """Whether env/setup.sh unpacked the kernel, busybox and rt-tests."""
    return (linux_dir / "VERSION").is_file() and (linux_dir / "rt-tests").is_dir()


def debian_release(linux_dir: Path = LINUX_DIR) -> str:
    """The kernel release env/setup.sh unpacked (build/linux-armhf/VERSION)."""
    return dict(line.split("=", 1) for line in
                (linux_dir / "VERSION").read_text().splitlines())["kernel"]


@contextmanager
def linux_under_ovm(target: Target, board: str, scenario: str, *, boot_s: float,
                    transcript: Path,
                    before_shell: Callable[[LinuxShell], None] | None = None,
                    ) -> Iterator[tuple[Any, LinuxShell]]:
    """OVM booted with ``scenario`` (built for ``board``) on ``target``, a shell open on its
    Linux VM's console; both ended after. Yields the OVMStrategy and the shell.
    ``before_shell`` runs between /init's marker and the shell's start."""
    if not linux_files_present():
        raise LinuxUserError(f"no kernel, busybox and rt-tests in {LINUX_DIR}: run env/setup.sh")
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
