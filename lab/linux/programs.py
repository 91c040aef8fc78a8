"""The lab's own programs for Linux's user side: ``vfpcheck`` (vfpcheck.c, next to this file).

Static, so that the program runs whatever C library the image carries; hard
float with NEON, as Debian's armhf user space is; ARM state, because its asm
names r7 (the system call number), which Thumb code keeps as frame pointer.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

from lab.paths import LINUX_DIR

from . import LinuxUserError

CROSS_CC = "arm-linux-gnueabihf-gcc"
VFPCHECK_SOURCE = Path(__file__).with_name("vfpcheck.c")
VFPCHECK_FLAGS = ("-static", "-O2", "-marm", "-mfpu=neon", "-mfloat-abi=hard", "-std=gnu11",
                  "-Wall", "-Wextra", "-Werror")


def cross_compiler() -> str:
    compiler = shutil.which(CROSS_CC)
    if compiler is None:
        raise LinuxUserError(f"{CROSS_CC} not found: run env/setup.sh")
    return compiler


def build_vfpcheck(out_dir: Path = LINUX_DIR) -> Path:
    """Compile vfpcheck.c into ``out_dir``/vfpcheck unless the binary is newer than the source
    (and this module, which holds the flags); returns the binary."""
    binary = out_dir / "vfpcheck"
    newest_input = max(VFPCHECK_SOURCE.stat().st_mtime, Path(__file__).stat().st_mtime)
    if binary.is_file() and binary.stat().st_mtime >= newest_input:
        return binary
    out_dir.mkdir(parents=True, exist_ok=True)
    # Written beside the binary and renamed: an interrupted build leaves no binary that the
    # time stamp check would take for current.
    partial = binary.with_name(binary.name + ".partial")
    command = [cross_compiler(), *VFPCHECK_FLAGS, str(VFPCHECK_SOURCE), "-o", str(partial)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise LinuxUserError(f"building vfpcheck failed:\n{shlex.join(command)}\n{result.stderr}")
    partial.replace(binary)
    return binary
