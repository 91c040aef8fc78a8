"""Addresses to (image, function) from the ELF files of one build: OVM's and its guests'."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

OVM_IMAGE = "ovm"
SHIM = "shim"  # OVM's non-secure vectors: built at boot, so in no ELF
UNKNOWN = "?"


@dataclass(frozen=True)
class Place:
    image: str  # "ovm", "shim" or a guest's name
    function: str  # the symbol at or before the address, "?" outside every symbol

    @property
    def in_ovm(self) -> bool:
        return self.image in (OVM_IMAGE, SHIM)

    def __str__(self) -> str:
        return f"{self.image}:{self.function}"


@dataclass(frozen=True)
class _Range:
    start: int
    end: int
    image: str


class Symbols:
    """Code symbols of a build's images, looked up by address.

    Functions from C have sizes; the assembly's labels (``mon_fiq``,
    ``fiq_user``) have none and run to the next symbol, which is what a
    reader of ``monitor.S`` wants: its paths by label.
    """

    def __init__(self, images: dict[str, Path], shim: tuple[int, int]) -> None:
        self._starts: list[int] = []
        self._names: list[str] = []
        self._ranges: list[_Range] = [_Range(shim[0], shim[0] + shim[1], SHIM)]
        symbols: list[tuple[int, str]] = []
        for image, path in images.items():
            with path.open("rb") as stream:
                elf = ELFFile(stream)
                for section in elf.iter_sections():
                    if section["sh_flags"] & 0x4 and section["sh_size"]:  # SHF_EXECINSTR
                        start = section["sh_addr"]
                        self._ranges.append(_Range(start, start + section["sh_size"], image))
                    if isinstance(section, SymbolTableSection):
                        symbols += [
                            (symbol["st_value"] & ~1, symbol.name)
                            for symbol in section.iter_symbols()
                            if symbol.name and not symbol.name.startswith("$")
                            and symbol["st_info"]["type"] in ("STT_FUNC", "STT_NOTYPE")
                            and symbol["st_shndx"] != "SHN_ABS"
                        ]
        # Of several names at one address, the first in the table (a function before its aliases).
        for address, name in sorted(dict(reversed(symbols)).items()):
            self._starts.append(address)
            self._names.append(name)
        self._ranges.sort(key=lambda r: r.start)
        self._range_starts = [r.start for r in self._ranges]
        self._cache: dict[int, Place] = {}

    def image_of(self, address: int) -> str | None:
        index = bisect.bisect_right(self._range_starts, address) - 1
        if index >= 0 and address < self._ranges[index].end:
            return self._ranges[index].image
        return None

    def lookup(self, address: int) -> Place:
        place = self._cache.get(address)
        if place is None:
            image = self.image_of(address)
            if image is None:
                place = Place(UNKNOWN, UNKNOWN)
            elif image == SHIM:
                place = Place(SHIM, f"vector {(address & 0x1f) // 4}")
            else:
                index = bisect.bisect_right(self._starts, address) - 1
                place = Place(image, self._names[index] if index >= 0 else UNKNOWN)
            self._cache[address] = place
        return place
