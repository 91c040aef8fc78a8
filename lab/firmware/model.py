"""The validated configuration: what a board offers and which VMs a scenario runs."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

MIB = 1 << 20

# OVM keeps this much non-secure memory after its own region and any secure granule
# there (see config.h, ovm_ns_area).
OVM_NS_SIZE = MIB


class Level(enum.Enum):
    """Real-time class of a VM; the values are the spellings used in scenario files."""

    HRT = "HRT"
    SRT = "SRT"
    NRT = "NRT"

    @property
    def number(self) -> int:
        """As enum rt_level in config.h and ovm_vm_request.level: 0 HRT, 1 SRT, 2 NRT."""
        return list(Level).index(self)


class Privilege(enum.Enum):
    """Where a VM's guest runs; the values are the scenario files' spellings."""

    # Non-secure user mode under OVM's shim: isolated (every VM but a trusted HRT one).
    USER = "user"
    # Non-secure supervisor mode, owning its MMU: trusted (an HRT VM's choice, a Linux VM).
    KERNEL = "kernel"


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
class Device:
    """A memory-mapped device of the board that a VM may be given (its 4 KiB pages)."""

    name: str
    region: Region


class TzController(enum.Enum):
    """Memory-side TrustZone controllers OVM can program; the values are the board files'
    spellings. Each has a driver in ovm/drivers/trustzone/."""

    ZYNQ_7000 = "zynq-7000"

    @property
    def ddr_granule(self) -> int:
        """Bytes per bit of the DDR partition register (Zynq-7000: TZ_DDR_RAM, 64 MiB)."""
        return 64 * MIB

    @property
    def ddr_granules(self) -> int:
        """How many granules the partition register has bits for (from address 0)."""
        return 32


@dataclass(frozen=True)
class TzControl:
    """One TrustZone control register OVM writes at boot, before any guest runs."""

    name: str
    address: int
    value: int


@dataclass(frozen=True)
class TrustZone:
    """A board's memory-side TrustZone partition: what OVM makes secure at boot."""

    controller: TzController
    # DDR granules (numbered from address 0) left secure; every other one is made non-secure.
    secure_ddr_granules: tuple[int, ...]
    controls: tuple[TzControl, ...] = ()
    # Register blocks only the secure world may reach; no VM may be given one.
    secure_only: tuple[Device, ...] = ()

    def granule(self, number: int) -> Region:
        size = self.controller.ddr_granule
        return Region(number * size, size)

    @property
    def secure_ddr(self) -> tuple[tuple[int, Region], ...]:
        """(granule number, its region) for each secure granule, in address order."""
        return tuple((n, self.granule(n)) for n in sorted(self.secure_ddr_granules))

    @property
    def secure_ddr_mask(self) -> int:
        """Bit n set: granule n stays secure (the partition register wants the inverse)."""
        return sum(1 << n for n in self.secure_ddr_granules)

    def secure_granule_at(self, address: int) -> tuple[int, Region] | None:
        return next(((n, r) for n, r in self.secure_ddr if r.base <= address < r.end), None)


def ovm_ns_area(ovm: Region, trustzone: TrustZone | None) -> Region:
    """Where OVM's non-secure area lies: right after OVM's region, past any secure DDR
    granule there, because the guests' table walks are non-secure accesses, which the
    TrustZone partition would refuse."""
    base = ovm.end
    while trustzone is not None:
        hit = trustzone.secure_granule_at(base)
        if hit is None:
            break
        base = hit[1].end
    return Region(base, OVM_NS_SIZE)


@dataclass(frozen=True)
class BoardLinux:
    """How a Linux kernel is booted on the board (board file `linux:`)."""

    # Debian's device tree for the board, by file name in the Linux files' directory.
    dtb: str
    # r1 at the kernel's entry (the ARM boot protocol's machine number).
    machine_id: int
    # A GIC line no device raises, which OVM pends to tell a Linux host that an NRT guest's
    # I/O request waits (its module's interrupt); None: no Linux VM can be the host here.
    doorbell_irq: int | None = None


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
    devices: tuple[Device, ...] = ()
    # None: the board has no memory-side TrustZone controller OVM programs (QEMU vexpress-a9).
    trustzone: TrustZone | None = None
    # None: no Linux VM can be built for the board.
    linux: BoardLinux | None = None

    def device(self, name: str) -> Device | None:
        return next((device for device in self.devices if device.name == name), None)

    @property
    def ovm_ns(self) -> Region:
        """OVM's non-secure area: the guests' translation tables, which no guest maps."""
        return ovm_ns_area(self.ovm, self.trustzone)

    @property
    def secure_ddr(self) -> tuple[tuple[int, Region], ...]:
        """The secure DDR granules (number, region); none without a TrustZone partition."""
        return self.trustzone.secure_ddr if self.trustzone is not None else ()


@dataclass(frozen=True)
class RtParams:
    """A periodic SRT reservation, in microseconds."""

    deadline_us: int
    period_us: int
    budget_us: int


@dataclass(frozen=True)
class VmIrq:
    """An interrupt a VM asks for and which of its vCPUs takes it."""

    irq: int
    vcpu: int


@dataclass(frozen=True)
class IrqRoute:
    """An interrupt as OVM routes it: to vCPU `vcpu` of VM number `vm`, on `core`."""

    irq: int
    core: int
    vm: int
    vcpu: int


@dataclass(frozen=True)
class SchedConfig:
    # 0: tickless.
    tick_us: int = 100
    nrt_slice_us: int = 1000
    min_period_us: int = 100


@dataclass(frozen=True)
class LinuxKernel:
    """A Linux VM's kernel (scenario `linux:`): files checked to exist when loaded."""

    kernel: Path
    # The board's device tree the VM's is derived from.
    dtb: Path
    # None: the lab's host initramfs (lab.linux), built with the firmware.
    initramfs: Path | None
    cmdline: str
    machine_id: int
    # The host's doorbell (BoardLinux.doorbell_irq) when this VM is the host, else None.
    doorbell_irq: int | None = None


@dataclass(frozen=True)
class VM:
    name: str
    guest: str
    level: Level
    cores: tuple[int, ...]
    # Resolved on the board: absolute physical addresses.
    memory: Region
    # Only SRT VMs have one; None lets the guest run as a background SRT.
    realtime: RtParams | None
    irqs: tuple[VmIrq, ...]
    host: bool
    # Handed to the guest in r2 and r3; missing ones are 0.
    args: tuple[int, ...] = ()
    # Board devices passed through to this (HRT) VM: mapped, touched directly.
    devices: tuple[Device, ...] = ()
    # Virtual devices it may reach by input/output, by name (see io.py).
    io: tuple[str, ...] = ()
    privilege: Privilege = Privilege.USER
    # Uses VFP/NEON: OVM grants and switches it (a Linux VM always does).
    fpu: bool = False
    linux: LinuxKernel | None = None

    @property
    def mem_base(self) -> int:
        return self.memory.base

    @property
    def core_mask(self) -> int:
        return sum(1 << core for core in self.cores)


@dataclass(frozen=True)
class ConsoleConfig:
    """The console's sharing (OVM proxy): each round, each VM may send this many bytes."""

    round_us: int = 1000
    bytes_per_round: int = 64


# A run-time image is built, embedded and sized under this prefix and its guest's name.
RUNTIME_IMAGE_PREFIX = "runtime_"


@dataclass(frozen=True)
class RuntimeImage:
    """A guest program the host may start at run time (`register`), linked at `memory`."""

    guest: str
    memory: Region

    @property
    def name(self) -> str:
        """The image's name among the VMs' in the build: runtime_<guest>."""
        return RUNTIME_IMAGE_PREFIX + self.guest


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    scheduler: SchedConfig
    vms: tuple[VM, ...]
    console: ConsoleConfig = ConsoleConfig()
    # A VM started from runtime[i] gets the id len(vms) + i.
    runtime: tuple[RuntimeImage, ...] = ()

    @property
    def irq_routes(self) -> tuple[IrqRoute, ...]:
        """Every VM's interrupts in scenario order; a vCPU's core is cores[vcpu]."""
        return tuple(
            IrqRoute(irq=wanted.irq, core=vm.cores[wanted.vcpu], vm=index, vcpu=wanted.vcpu)
            for index, vm in enumerate(self.vms)
            for wanted in vm.irqs
        )
