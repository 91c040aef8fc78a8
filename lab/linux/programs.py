"""The lab's own programs for Linux's user side: ``vfpcheck`` (does VFP/NEON state
survive switches) and ``switchprobe`` (when did the process not run, by the global
timer: the Linux side of OVM's vCPU switches), C files next to this one; and OVM's
own ``ovm-hostd`` (ovm/linux: the Linux host's daemon that emulates NRT guests'
devices), compiled against OVM's ABI header.

Static, so that a program runs whatever C library the image carries; hard
float with NEON, as Debian's armhf user space is; ARM state, because vfpcheck's
asm names r7 (the system call number), which Thumb code keeps as frame pointer.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

from lab.paths import LINUX_DIR, OVM_DIR

from . import LinuxUserError

CROSS_CC = "arm-linux-gnueabihf-gcc"
_HERE = Path(__file__).parent
OVM_LINUX = OVM_DIR / "linux"
OVM_INCLUDE = OVM_DIR / "include"
# Each program's source; the headers it may include are OVM's ABI and ovm/linux's.
LAB_PROGRAMS = {
    "vfpcheck": _HERE / "vfpcheck.c",
    "switchprobe": _HERE / "switchprobe.c",
    "ovm-hostd": OVM_LINUX / "ovm-hostd.c",
}
_HEADERS = (OVM_INCLUDE / "ovm" / "hypercall.h", OVM_LINUX / "ovm_io.h")
PROGRAM_FLAGS = ("-static", "-O2", "-marm", "-mfpu=neon", "-mfloat-abi=hard", "-std=gnu11",
                 "-Wall", "-Wextra", "-Werror")


def cross_compiler() -> str:
    compiler = shutil.which(CROSS_CC)
    if compiler is None:
        raise LinuxUserError(f"{CROSS_CC} not found: run env/setup.sh")
    return compiler


def program_source(name: str) -> Path:
    try:
        return LAB_PROGRAMS[name]
    except KeyError:
        raise LinuxUserError(f"no lab program {name!r} (there are {', '.join(LAB_PROGRAMS)})")\
            from None


def build_program(name: str, out_dir: Path = LINUX_DIR) -> Path:
    """Compile ``name``'s source into ``out_dir``/``name`` unless the binary is newer than the
    source, the headers and this module (which holds the flags); returns the binary."""
    source = program_source(name)
    binary = out_dir / name
    newest_input = max(path.stat().st_mtime for path in (source, *_HEADERS, Path(__file__)))
    if binary.is_file() and binary.stat().st_mtime >= newest_input:
        return binary
    out_dir.mkdir(parents=True, exist_ok=True)
    # Written beside the binary and renamed: an interrupted build leaves no binary that the
    # time stamp check would take for current.
    partial = binary.with_name(binary.name + ".partial")
    command = [cross_compiler(), *PROGRAM_FLAGS, f"-I{OVM_INCLUDE}", f"-I{OVM_LINUX}",
               str(source), "-o", str(partial)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise LinuxUserError(f"building {name} failed:\n{shlex.join(command)}\n{result.stderr}")
    partial.replace(binary)
    return binary


def build_lab_programs(out_dir: Path = LINUX_DIR) -> dict[str, Path]:
    """Every program of LAB_PROGRAMS, built where its source changed: name -> binary."""
    return {name: build_program(name, out_dir) for name in LAB_PROGRAMS}
