"""Where a build puts its files: build/<board>/<scenario>/..."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BuildLayout:
    # build/<board>/<scenario>, absolute because make runs in other directories.
    root: Path

    @classmethod
    def under(cls, build_root: Path, board: str, scenario: str) -> BuildLayout:
        return cls(build_root.resolve() / board / scenario)

    @property
    def gen_dir(self) -> Path:
        return self.root / "gen"

    @property
    def guests_dir(self) -> Path:
        return self.root / "guests"

    @property
    def obj_dir(self) -> Path:
        """OVM's object files, one subdirectory per part (arch, core, ...)."""
        return self.root / "obj"

    @property
    def ovm_elf(self) -> Path:
        return self.root / "ovm.elf"

    @property
    def ovm_bin(self) -> Path:
        return self.root / "ovm.bin"

    @property
    def size_json(self) -> Path:
        return self.root / "size.json"

    def guest_elf(self, vm_name: str) -> Path:
        return self.guests_dir / f"{vm_name}.elf"

    def guest_bin(self, vm_name: str) -> Path:
        return self.guests_dir / f"{vm_name}.bin"
