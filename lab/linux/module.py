"""The OVM kernel module (ovm/linux/module): /proc/ovm and /dev/ovm-io in a Linux host.

Built out of tree against Debian's headers for the exact kernel the lab boots
(``env/setup.sh`` unpacks them into ``build/linux-armhf/headers``), with the
armhf cross compiler. Kbuild writes its objects next to the sources, so the
sources are copied into ``build/linux-armhf/ovm-module`` and built there; the
module is rebuilt only when a source, OVM's ABI header or this file changed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from lab.paths import LINUX_DIR, OVM_DIR

from . import LinuxUserError
from .programs import CROSS_CC

MODULE_SOURCES = OVM_DIR / "linux" / "module"
MODULE_NAME = "ovm.ko"
_INPUTS = (MODULE_SOURCES / "ovm.c", MODULE_SOURCES / "Kbuild",
           OVM_DIR / "include" / "ovm" / "hypercall.h", OVM_DIR / "linux" / "ovm_io.h")


def kernel_release(linux_dir: Path = LINUX_DIR) -> str:
    """The kernel's release (``6.1.0-57-armmp``) as env/setup.sh wrote it down."""
    version = linux_dir / "VERSION"
    try:
        lines = version.read_text(encoding="utf-8").splitlines()
    except OSError:
        raise LinuxUserError(f"{version} missing: run env/setup.sh") from None
    for line in lines:
        if line.startswith("kernel="):
            return line.removeprefix("kernel=")
    raise LinuxUserError(f"{version} names no kernel= line: run env/setup.sh again")


def headers(linux_dir: Path = LINUX_DIR) -> Path:
    """The unpacked armmp headers for the kernel in use."""
    release = kernel_release(linux_dir)
    tree = linux_dir / "headers" / "usr" / "src" / f"linux-headers-{release}"
    if not (tree / "Makefile").is_file():
        raise LinuxUserError(
            f"Debian's headers for {release} are not in {tree}: run env/setup.sh")
    return tree


def build_module(linux_dir: Path = LINUX_DIR) -> Path:
    """``ovm.ko`` for the kernel in use, built where an input changed; returns its path."""
    out_dir = linux_dir / "ovm-module"
    module = out_dir / MODULE_NAME
    newest_input = max(path.stat().st_mtime for path in (*_INPUTS, Path(__file__)))
    if module.is_file() and module.stat().st_mtime >= newest_input:
        return module
    tree = headers(linux_dir)
    if shutil.which(CROSS_CC) is None:
        raise LinuxUserError(f"{CROSS_CC} not found: run env/setup.sh")
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    for source in MODULE_SOURCES.iterdir():
        shutil.copy2(source, out_dir / source.name)
    command = [
        "make", "-s", "-C", str(tree), "ARCH=arm", f"CROSS_COMPILE={CROSS_CC.removesuffix('gcc')}",
        f"M={out_dir}", f"OVM_INCLUDE={OVM_DIR / 'include'}", f"OVM_LINUX={OVM_DIR / 'linux'}",
        "modules",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode == 0 and module.is_file():
        # Debug sections are 3/4 of the module, and it travels in the initramfs.
        strip = [CROSS_CC.removesuffix("gcc") + "strip", "--strip-debug", str(module)]
        result = subprocess.run(strip, capture_output=True, text=True)
    if result.returncode != 0 or not module.is_file():
        # No half-built module that the time stamp check would take for current.
        module.unlink(missing_ok=True)
        raise LinuxUserError(
            f"building the OVM module failed:\n{' '.join(command)}\n{result.stdout}{result.stderr}")
    return module
