"""Where each VM's memory lies in the board's RAM."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .model import MIB, VM, Board, Device, Level, Region, RtParams, VmIrq
from .schema import At, format_size

# A size that is a multiple of this gets this alignment, so that an HRT guest's
# memory can be mapped with supersections (fewer TLB entries, fewer misses).
SUPERSECTION = 16 * MIB
SECTION = MIB


@dataclass(frozen=True)
class VmRequest:
    """A VM as the scenario file gives it: memory not yet placed."""

    name: str
    guest: str
    level: Level
    cores: tuple[int, ...]
    size: int
    # Relative to the start of RAM; None lets placement choose.
    offset: int | None
    at: At
    # Carried over to the VM unchanged: placement does not look at them.
    realtime: RtParams | None = None
    irqs: tuple[VmIrq, ...] = ()
    host: bool = False
    args: tuple[int, ...] = ()
    devices: tuple[Device, ...] = ()


def place(requests: Sequence[VmRequest], board: Board, at: At) -> tuple[VM, ...]:
    """Resolve every VM's memory region.

    VMs with an offset keep it; the others take, in scenario order, the lowest
    free aligned range above OVM's non-secure area.
    """
    needed = sum(request.size for request in requests)
    free = board.ram.size - board.ovm.size - board.ovm_ns.size
    if needed > free:
        raise at.error(
            f"the VMs need {format_size(needed)} of memory, but only {format_size(free)} "
            "of RAM is free outside OVM's region and non-secure area"
        )
    regions: dict[str, Region] = {}
    for request in requests:
        if request.offset is not None:
            region = Region(board.ram.base + request.offset, request.size)
            _check_fixed(region, request.at.field("memory"), board, regions)
            regions[request.name] = region
    for request in requests:
        if request.offset is None:
            regions[request.name] = _first_fit(request, board, list(regions.values()))
    return tuple(
        VM(
            name=request.name,
            guest=request.guest,
            level=request.level,
            cores=request.cores,
            memory=regions[request.name],
            realtime=request.realtime,
            irqs=request.irqs,
            devices=request.devices,
            host=request.host,
            args=request.args,
        )
        for request in requests
    )


def _check_fixed(region: Region, at: At, board: Board, placed: dict[str, Region]) -> None:
    if not board.ram.contains(region):
        raise at.error(f"region {region} lies outside RAM ({board.ram})")
    if region.overlaps(board.ovm):
        raise at.error(f"region {region} overlaps OVM's region ({board.ovm})")
    if region.overlaps(board.ovm_ns):
        raise at.error(f"region {region} overlaps OVM's non-secure area ({board.ovm_ns})")
    for name, other in placed.items():
        if region.overlaps(other):
            raise at.error(f"region {region} overlaps VM '{name}' ({other})")


def _first_fit(request: VmRequest, board: Board, placed: list[Region]) -> Region:
    alignment = SUPERSECTION if request.size % SUPERSECTION == 0 else SECTION
    base = _align_up(board.ovm_ns.end, alignment)
    while True:
        candidate = Region(base, request.size)
        conflicts = [other for other in placed if other.overlaps(candidate)]
        if not conflicts:
            break
        base = _align_up(max(other.end for other in conflicts), alignment)
    if candidate.end > board.ram.end:
        raise request.at.field("memory").error(
            f"no free {format_size(alignment)}-aligned range of {format_size(request.size)} "
            f"left in RAM ({board.ram}) above OVM's non-secure area ({board.ovm_ns})"
        )
    return candidate


def _align_up(value: int, alignment: int) -> int:
    return -(-value // alignment) * alignment
