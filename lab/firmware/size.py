"""How much memory each part of OVM and each guest takes (text, data, bss)."""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from .layout import BuildLayout

# Order of OVM's parts in the report; other directories under obj/ follow, sorted.
PARTS = ("arch", "core", "lib", "drivers", "gen")


@dataclass(frozen=True)
class Sizes:
    """Bytes by kind, classified like `arm-none-eabi-size` (Berkeley format) does."""

    text: int = 0
    data: int = 0
    bss: int = 0

    def __add__(self, other: Sizes) -> Sizes:
        return Sizes(self.text + other.text, self.data + other.data, self.bss + other.bss)

    @property
    def total(self) -> int:
        return self.text + self.data + self.bss


class RowKind(enum.Enum):
    PART = "part"  # OVM's objects under obj/<part>/
    IMAGE = "image"  # ovm.elf as linked, guest images included
    GUEST = "guest"  # a guest's ELF


@dataclass(frozen=True)
class SizeRow:
    name: str
    kind: RowKind
    sizes: Sizes


def elf_sizes(path: Path) -> Sizes:
    """Sum of an ELF file's (object or executable) allocated sections."""
    sizes = Sizes()
    with path.open("rb") as stream:
        for section in ELFFile(stream).iter_sections():
            flags = section["sh_flags"]
            if not flags & SH_FLAGS.SHF_ALLOC:
                continue
            length = section["sh_size"]
            if section["sh_type"] == "SHT_NOBITS":
                sizes += Sizes(bss=length)
            elif flags & SH_FLAGS.SHF_EXECINSTR or not flags & SH_FLAGS.SHF_WRITE:
                sizes += Sizes(text=length)
            else:
                sizes += Sizes(data=length)
    return sizes


def sum_sizes(paths: Iterable[Path]) -> Sizes:
    return sum((elf_sizes(path) for path in paths), Sizes())


def size_report(layout: BuildLayout, image_names: Sequence[str]) -> list[SizeRow]:
    """OVM's parts, ovm.elf, then each guest image: the VMs' and the run-time images'
    (runtime_<guest>), by the names the build gave them."""
    rows = [
        SizeRow(part.name, RowKind.PART, sum_sizes(sorted(part.rglob("*.o"))))
        for part in _part_dirs(layout.obj_dir)
    ]
    rows.append(SizeRow(layout.ovm_elf.name, RowKind.IMAGE, elf_sizes(layout.ovm_elf)))
    rows += [
        SizeRow(name, RowKind.GUEST, elf_sizes(layout.guest_elf(name))) for name in image_names
    ]
    return rows


def format_table(rows: Sequence[SizeRow]) -> str:
    header = ("", "text", "data", "bss", "total")
    cells = [header] + [
        (
            _label(row),
            str(row.sizes.text),
            str(row.sizes.data),
            str(row.sizes.bss),
            str(row.sizes.total),
        )
        for row in rows
    ]
    widths = [max(len(line[column]) for line in cells) for column in range(len(header))]
    return "\n".join(
        "  ".join(
            [line[0].ljust(widths[0])]
            + [cell.rjust(width) for cell, width in zip(line[1:], widths[1:])]
        ).rstrip()
        for line in cells
    )


def write_json(rows: Sequence[SizeRow], path: Path) -> None:
    records = [
        {"name": row.name, "kind": row.kind.value, **asdict(row.sizes), "total": row.sizes.total}
        for row in rows
    ]
    path.write_text(json.dumps(records, indent=2) + "\n", encoding="utf-8")


def _label(row: SizeRow) -> str:
    labels = {
        RowKind.PART: f"ovm/{row.name}",
        RowKind.IMAGE: row.name,
        RowKind.GUEST: f"guest {row.name}",
    }
    return labels[row.kind]


def _part_dirs(obj_dir: Path) -> list[Path]:
    if not obj_dir.is_dir():
        return []
    dirs = [path for path in obj_dir.iterdir() if path.is_dir()]
    known = {name: index for index, name in enumerate(PARTS)}
    return sorted(dirs, key=lambda path: (known.get(path.name, len(PARTS)), path.name))
