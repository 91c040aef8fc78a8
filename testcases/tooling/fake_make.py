"""make replaced by a fake for the build driver's tests (lab.firmware.build)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path


def compile_tiny_elf(directory: Path) -> Path:
    """A small ARM object with text, data and bss: what the fake passes off as every ELF."""
    (directory / "tiny.c").write_text("int value = 1; char buffer[64]; int f(void) { return 1; }")
    subprocess.run(
        ["arm-none-eabi-gcc", "-c", "-mcpu=cortex-a9", "-o", str(directory / "tiny.o"),
         str(directory / "tiny.c")],
        check=True,
    )
    return directory / "tiny.o"


class FakeMake:
    """Records the commands and produces the files the real Makefiles would."""

    def __init__(self, elf: Path) -> None:
        self.elf = elf
        self.commands: list[list[str]] = []

    def __call__(self, command: Sequence[str]) -> None:
        self.commands.append(list(command))
        variables = dict(arg.split("=", 1) for arg in command if "=" in arg)
        if "OUT_DIR" in variables:
            out = Path(variables["OUT_DIR"])
            out.mkdir(parents=True, exist_ok=True)
            shutil.copy(self.elf, out / f"{variables['NAME']}.elf")
            (out / f"{variables['NAME']}.bin").write_bytes(b"guest")
        else:
            out = Path(variables["BUILD_DIR"])
            (out / "obj" / "core").mkdir(parents=True, exist_ok=True)
            shutil.copy(self.elf, out / "obj" / "core" / "main.o")
            shutil.copy(self.elf, out / "ovm.elf")
            (out / "ovm.bin").write_bytes(b"ovm")
