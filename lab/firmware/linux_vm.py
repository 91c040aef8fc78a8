"""A Linux VM: its `linux:` block, and the kernel, device tree and initramfs OVM loads.

A scenario VM with ``linux:`` instead of ``guest:`` runs a Linux kernel in
non-secure supervisor mode (trusted, like a ``privilege: kernel`` HRT VM):

    linux:
      kernel: debian           # Debian's armmp zImage (env/setup.sh), or a file
      initramfs: host          # the lab's host initramfs (lab.linux), or a file
      cmdline: "console=ttyAMA1 quiet"
      dtb: vexpress-v2p-ca9.dtb  # optional: the board's, from its `linux:` entry

OVM loads Debian's zImage as it is, and the kernel's decompressor unpacks it.
Unpacking it in the tooling would spare the decompressor's XZ work (about 10^9
instructions), but Debian's kernel entered as an Image stalls early in its boot
under OVM (issue 13). Where things go in the VM's region (the ARM Linux
boot protocol): the decompressor writes the kernel 32 KiB past the start of RAM,
which it finds by rounding its own address down to 128 MiB, so the region starts
on a 128 MiB boundary and the zImage goes 32 MiB in, above the unpacked kernel
and its .bss; the device tree and the initramfs follow it, page aligned.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .devicetree import GIC_SPI_BASE, DeviceTreeError, TreeReport, VmTree, derive
from .errors import BoardLacksError, display_path
from .model import MIB, VM, Board, BoardLinux, LinuxKernel, Region
from .yaml_checks import At, format_size, integer, mapping, string

DEBIAN_KERNEL = "debian"
HOST_INITRAMFS = "host"
LINUX_KEYS = ("kernel", "initramfs", "cmdline", "dtb")
# armmp kernels find their RAM by rounding down to this (AUTO_ZRELADDR).
RAM_ALIGNMENT = 128 * MIB
# The zImage's place: above any armmp kernel unpacked at +32 KiB with its .bss.
KERNEL_OFFSET = 32 * MIB
PAGE = 4096
# What the kernel needs besides what is loaded, to boot and unpack the initramfs.
MIN_FREE = 16 * MIB
MAX_CMDLINE = 1024


@dataclass(frozen=True)
class LinuxImage:
    """What OVM embeds for a Linux VM, and where in the region each part goes."""

    kernel: Path
    kernel_offset: int
    dtb: Path
    dtb_offset: int
    initramfs: Path
    initramfs_offset: int
    # Where the image loader puts the three (at the top of the region), for OVM to copy.
    staging: int
    tree: TreeReport


def linux_dir(repo_root: Path) -> Path:
    return repo_root / "build" / "linux-armhf"


def _debian_kernel(repo_root: Path, at: At) -> Path:
    from lab.evaluation.linux_baseline import BaselineError, linux_files

    try:
        return linux_files(linux_dir(repo_root)).kernel
    except BaselineError as err:
        raise at.error(f"kernel {DEBIAN_KERNEL!r}: {err}") from None


def _file(value: str, at: At, what: str, repo_root: Path) -> Path:
    path = Path(value)
    path = path if path.is_absolute() else repo_root / path
    if not path.is_file():
        raise at.error(f"{what} {display_path(path)} is not there")
    return path


def linux_kernel(value: object, at: At, board: Board, repo_root: Path) -> LinuxKernel:
    """Check a VM's `linux:` block: the files must exist; the device tree is read at build."""
    if board.linux is None:
        raise BoardLacksError(at.file, at.key or None,
                              f"board {board.name!r} has no `linux:` entry: it cannot run a "
                              "Linux VM")
    doc = mapping(value, at, required=(), optional=LINUX_KEYS)
    kernel_name = string(doc.get("kernel", DEBIAN_KERNEL), at.field("kernel"))
    kernel = (_debian_kernel(repo_root, at.field("kernel")) if kernel_name == DEBIAN_KERNEL
              else _file(kernel_name, at.field("kernel"), "kernel", repo_root))
    initramfs_name = string(doc.get("initramfs", HOST_INITRAMFS), at.field("initramfs"))
    initramfs = (None if initramfs_name == HOST_INITRAMFS
                 else _file(initramfs_name, at.field("initramfs"), "initramfs", repo_root))
    dtb_at = at.field("dtb")
    if "dtb" in doc:
        dtb = _file(string(doc["dtb"], dtb_at), dtb_at, "device tree", repo_root)
    else:
        dtb = linux_dir(repo_root) / board.linux.dtb
        if not dtb.is_file():
            raise dtb_at.error(
                f"the board's device tree {display_path(dtb)} is not there: run env/setup.sh")
    cmdline = string(doc.get("cmdline", ""), at.field("cmdline"))
    if len(cmdline) >= MAX_CMDLINE or "\n" in cmdline:
        raise at.field("cmdline").error(
            f"a kernel command line is one line of under {MAX_CMDLINE} characters")
    return LinuxKernel(kernel=kernel, dtb=dtb, initramfs=initramfs, cmdline=cmdline,
                       machine_id=board.linux.machine_id)


def board_linux(value: object, at: At, gic_lines: int) -> BoardLinux:
    doc = mapping(value, at, required=("dtb", "machine_id"), optional=("doorbell_irq",))
    doorbell = doc.get("doorbell_irq")
    return BoardLinux(dtb=string(doc["dtb"], at.field("dtb")),
                      machine_id=integer(doc["machine_id"], at.field("machine_id"), 0,
                                         0xFFFFFFFF),
                      doorbell_irq=None if doorbell is None else integer(
                          doorbell, at.field("doorbell_irq"), GIC_SPI_BASE, gic_lines - 1))


def check_placement(vm: VM, at: At) -> None:
    """A Linux VM's region and core, once placed."""
    if vm.mem_base % RAM_ALIGNMENT:
        raise at.field("memory").error(
            f"a Linux VM's region must start on a {format_size(RAM_ALIGNMENT)} boundary "
            f"(the kernel finds its RAM by rounding its address down to one); "
            f"{vm.memory} does not: give memory an offset")
    if len(vm.cores) != 1:
        raise at.field("cores").error(
            "a Linux VM runs on one core: OVM does not start a Linux VM's secondary cores")


def _align(value: int, alignment: int) -> int:
    return -(-value // alignment) * alignment


def prepare(vm: VM, board: Board, out_dir: Path, at: At, initramfs: Path) -> LinuxImage:
    """The VM's device tree (written into `out_dir`) and its parts' places, or a ConfigError
    at the VM naming the file and the reason."""
    assert vm.linux is not None
    linux = vm.linux
    kernel = linux.kernel
    kernel_size = kernel.stat().st_size
    initramfs_size = initramfs.stat().st_size
    dtb_offset = _align(KERNEL_OFFSET + kernel_size, MIB)
    # The tree grows by the chosen node and the command line; a page more is plenty.
    source = linux.dtb.read_bytes()
    dtb_room = _align(len(source) + PAGE + len(linux.cmdline), PAGE)
    initramfs_offset = dtb_offset + dtb_room
    # The parts as guest_images.S lays them out (each 8-byte aligned), at the region's top.
    staged = _align(_align(kernel_size, 8) + _align(dtb_room, 8) + initramfs_size, MIB)
    needed = initramfs_offset + initramfs_size + MIN_FREE + staged
    if needed > vm.memory.size:
        raise at.field("memory").error(
            f"{format_size(vm.memory.size)} is too small for kernel and initramfs: the zImage "
            f"({display_path(linux.kernel)}, {format_size(kernel_size)}) goes at "
            f"+{format_size(KERNEL_OFFSET)}, then the device tree and the initramfs "
            f"({display_path(initramfs)}, {format_size(initramfs_size)}), and the kernel needs "
            f"{format_size(MIN_FREE)} more to run, and room to stage them all at the top of "
            f"the region: at least {format_size(_align(needed, MIB))}")
    irqs = frozenset(wanted.irq for wanted in vm.irqs)
    tree = VmTree(memory=vm.memory, core=vm.cores[0], irqs=irqs, bootargs=linux.cmdline,
                  initrd=Region(vm.mem_base + initramfs_offset, initramfs_size),
                  periph_base=board.periph_base,
                  blob=Region(vm.mem_base + dtb_offset, dtb_room),
                  doorbell=linux.doorbell_irq)
    try:
        blob, report = derive(source, display_path(linux.dtb), tree)
    except DeviceTreeError as err:
        raise at.field("linux").field("dtb").error(str(err)) from None
    if len(blob) > dtb_room:
        raise at.field("linux").field("dtb").error(
            f"the VM's device tree ({len(blob)} bytes) outgrew its room ({dtb_room} bytes)")
    out_dir.mkdir(parents=True, exist_ok=True)
    dtb = out_dir / f"{vm.name}.dtb"
    dtb.write_bytes(blob)
    return LinuxImage(kernel=kernel, kernel_offset=KERNEL_OFFSET, dtb=dtb,
                      dtb_offset=dtb_offset, initramfs=initramfs,
                      initramfs_offset=initramfs_offset, staging=vm.memory.end - staged,
                      tree=report)
