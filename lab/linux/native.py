"""The host image on Debian's kernel without OVM: the reference for Linux as OVM's host.

The machine is the Linux baseline's (``linux_baseline.qemu_command``: vexpress-a9
with TrustZone, one CPU, the environment's ``-icount`` shift, a virtual-clock RTC
with a fixed date, Debian's device tree as it is) with the console where OVM
puts Linux's: the second UART (``-serial null`` first, then the TCP console of
``lab.linux.shell``), ``console=ttyAMA1``. QEMU waits for the console's
connection before it starts the machine, so the transcript has the whole boot.
QEMU's own ``-kernel`` loader starts Linux in the secure world here (see
PLATFORM-NOTES); that is the native case.

QEMU runs in a process group of its own and is killed with it when the
context ends, whatever ended it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lab.evaluation.linux_baseline import icount_shift_from_env, linux_files, qemu_command
from lab.paths import LINUX_DIR, QEMU_ENV
from lab.target.qemu_command import QemuMachine

from . import LinuxUserError
from .initramfs import build_host_initramfs
from .shell import LinuxShell, console_args, free_port

# As the baseline's, with the console on the second UART: what OVM's Linux VM gets.
KERNEL_ARGS = "console=ttyAMA1 quiet norandmaps panic=-1 rdinit=/init"


def native_command(qemu: str, env_file: Path, linux_dir: Path, initramfs: Path,
                   port: int) -> list[str]:
    """The QEMU command line that boots the host image natively, its console on ``port``."""
    return qemu_command(qemu, linux_files(linux_dir), initramfs, icount_shift_from_env(env_file),
                        kernel_args=KERNEL_ARGS,
                        serials=("-serial", "null", *console_args(port, wait=True)))


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait()


@contextmanager
def boot_native(*, env_file: Path = QEMU_ENV, linux_dir: Path = LINUX_DIR,
                initramfs: Path | None = None, boot_timeout: float = 120.0,
                transcript_path: Path | None = None) -> Iterator[LinuxShell]:
    """Boot natively and give the shell (``shell.seconds_to_prompt``: QEMU's start to a
    prompt, wall time). ``initramfs``: the host image, built when not given."""
    image = initramfs or build_host_initramfs(linux_dir)
    qemu = QemuMachine.from_env(env_file).binary
    if shutil.which(qemu) is None:
        raise LinuxUserError(f"QEMU {qemu!r} (from {env_file}) not found: run env/setup.sh")
    port = free_port()
    command = native_command(qemu, env_file, linux_dir, image, port)
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=errors, stderr=errors,
            start_new_session=True,  # a ^C in the terminal reaches us, not QEMU, which we kill
        )
        try:
            shell = LinuxShell(port, boot_timeout=boot_timeout,
                               transcript_path=transcript_path,
                               alive=lambda: process.poll() is None)
            try:
                with shell:
                    yield shell
            except LinuxUserError as error:
                errors.seek(0)
                said = errors.read().decode(errors="replace").strip()
                if said:
                    raise LinuxUserError(f"{error}\n[qemu output]\n{said}") from error
                raise
        finally:
            _kill(process)
