"""QEMU command lines built from the labgrid environment's ``QEMUDriver`` entry.

The environment file is the one place that says how the emulated board is
run (machine, cores, memory, icount); tools that start QEMU outside labgrid
(the debugger, the lab's virtual board) read it from there instead of keeping
a second copy.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from labgrid.config import Config


@dataclass(frozen=True)
class QemuMachine:
    binary: str
    machine: str
    cpu: str
    memory: str
    extra_args: tuple[str, ...]

    @classmethod
    def from_env(cls, env_file: Path, target: str = "main") -> "QemuMachine":
        config = Config(str(env_file))
        drivers = config.get_targets()[target]["drivers"]
        qemu = drivers["QEMUDriver"]
        return cls(
            binary=config.get_tool(qemu["qemu_bin"]),
            machine=qemu["machine"],
            cpu=qemu["cpu"],
            memory=qemu["memory"],
            extra_args=tuple(shlex.split(qemu.get("extra_args", ""))),
        )

    def command(self, kernel: Path, *extra: str) -> list[str]:
        return [
            self.binary,
            "-machine", self.machine,
            "-cpu", self.cpu,
            "-m", self.memory,
            "-display", "none",
            *self.extra_args,
            "-kernel", str(kernel),
            *extra,
        ]
