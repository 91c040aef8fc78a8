"""The validated configuration: what a board offers and which VMs a scenario runs."""

from __future__ import annotations

import enum
from dataclasses import dataclass

MIB = 1 << 20


class Level(enum.Enum):
    """Real-time class of a VM; the values are the spellings used in scenario files."""

    HRT = "HRT"
    SRT = "SRT"
    NRT = "NRT"


class ConsoleDriver(enum.Enum):
    """UART drivers OVM has; the values are the spellings used in board files."""

    PL011 = "pl011"
    CADENCE_UART = "cadence-uart"


@dataclass(frozen=True)
class Region:
    """A physical address range [base, base + size)."""

    base: int
    size: int

    @property
    def end(self) -> int:
        """First address after the region."""
        return self.base + self.size

    @property
    def last(self) -> int:
        return self.end - 1

    def overlaps(self, other: Region) -> bool:
        return self.base < other.end and other.base < self.end

    def contains(self, other: Region) -> bool:
        return self.base <= other.base and other.end <= self.end

    def __str__(self) -> str:
        return f"0x{self.base:08x}-0x{self.last:08x}"


@dataclass(frozen=True)
class Console:
    driver: ConsoleDriver
    base: int
    clock_hz: int
    baud: int


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    cpu: str
    cores: int
    ram: Region
    # Absolute addresses: the board file gives the offset inside RAM.
    ovm: Region
    periph_base: int
    gic_lines: int
    private_timer_hz: int
    console: Console
    # None when every core starts at OVM's entry by itself.
    secondary_release: int | None


@dataclass(frozen=True)
class VM:
    name: str
    guest: str
    level: Level
    cores: tuple[int, ...]
    # Resolved on the board: absolute physical addresses.
    memory: Region

    @property
    def mem_base(self) -> int:
        return self.memory.base

    @property
    def core_mask(self) -> int:
        return sum(1 << core for core in self.cores)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    vms: tuple[VM, ...]
