"""Where each VM's memory, and each run-time image's, lies in the board's RAM."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .model import (
    MIB,
    VM,
    Board,
    Device,
    Level,
    LinuxKernel,
    Privilege,
    Region,
    RtParams,
    RuntimeImage,
    VmIrq,
)
from .yaml_checks import At, format_size

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
    io: tuple[str, ...] = ()
    privilege: Privilege = Privilege.USER
    fpu: bool = False
    linux: LinuxKernel | None = None


@dataclass(frozen=True)
class RuntimeImageRequest:
    """A run-time image as the scenario file gives it: memory not yet placed."""

    guest: str
    size: int
    offset: int | None
    at: At


@dataclass(frozen=True)
class _Claim:
    """Memory to place, for a VM or a run-time image; `owner` names it in errors."""

    owner: str
    size: int
    offset: int | None
    at: At


def place(requests: Sequence[VmRequest], board: Board, at: At) -> tuple[VM, ...]:
    """Resolve every VM's memory region (a scenario without run-time images)."""
    vms, _ = place_all(requests, (), board, at)
    return vms


def place_all(
    requests: Sequence[VmRequest], runtime: Sequence[RuntimeImageRequest], board: Board, at: At
) -> tuple[tuple[VM, ...], tuple[RuntimeImage, ...]]:
    """Resolve the memory regions of every VM and every run-time image, clear of each other.

    Those with an offset keep it; the others take, VMs first and each in scenario
    order, the lowest free aligned range above OVM's non-secure area.
    """
    claims = [_Claim(f"VM '{r.name}'", r.size, r.offset, r.at) for r in requests] + [
        _Claim(f"run-time image '{r.guest}'", r.size, r.offset, r.at) for r in runtime
    ]
    regions = _place_claims(claims, board, at, "the VMs and run-time images" if runtime
                            else "the VMs")
    vms = tuple(
        VM(
            name=request.name,
            guest=request.guest,
            level=request.level,
            cores=request.cores,
            memory=region,
            realtime=request.realtime,
            irqs=request.irqs,
            devices=request.devices,
            host=request.host,
            args=request.args,
            io=request.io,
            privilege=request.privilege,
            fpu=request.fpu,
            linux=request.linux,
        )
        for request, region in zip(requests, regions)
    )
    images = tuple(
        RuntimeImage(guest=request.guest, memory=region)
        for request, region in zip(runtime, regions[len(requests):])
    )
    return vms, images


def _place_claims(claims: Sequence[_Claim], board: Board, at: At, who: str) -> list[Region]:
    needed = sum(claim.size for claim in claims)
    free = board.ram.size - _covered(_reserved(board))
    if needed > free:
        kept = "OVM's region, non-secure area and secure DDR granules" if board.secure_ddr \
            else "OVM's region and non-secure area"
        raise at.error(
            f"{who} need {format_size(needed)} of memory, but only {format_size(free)} "
            f"of RAM is free outside {kept}"
        )
    regions: dict[int, Region] = {}
    for index, claim in enumerate(claims):
        if claim.offset is not None:
            region = Region(board.ram.base + claim.offset, claim.size)
            _check_fixed(region, claim.at.field("memory"), board, claim.owner,
                         {claims[i].owner: other for i, other in regions.items()})
            regions[index] = region
    for index, claim in enumerate(claims):
        if claim.offset is None:
            regions[index] = _first_fit(claim, board, list(regions.values()))
    return [regions[index] for index in range(len(claims))]


def _reserved(board: Board) -> list[Region]:
    """RAM no VM may have: OVM's region and non-secure area, and every secure DDR granule
    (a VM's non-secure accesses there would be refused by the TrustZone partition)."""
    return [board.ovm, board.ovm_ns, *(region for _, region in board.secure_ddr)]


def _covered(regions: Sequence[Region]) -> int:
    """Bytes in the union of `regions` (they may overlap: OVM's region is in a granule)."""
    total, end = 0, 0
    for region in sorted(regions, key=lambda r: r.base):
        start = max(region.base, end)
        if region.end > start:
            total += region.end - start
        end = max(end, region.end)
    return total


def _check_fixed(region: Region, at: At, board: Board, owner: str,
                 placed: dict[str, Region]) -> None:
    if not board.ram.contains(region):
        raise at.error(f"region {region} lies outside RAM ({board.ram})")
    if region.overlaps(board.ovm):
        raise at.error(f"region {region} overlaps OVM's region ({board.ovm})")
    if region.overlaps(board.ovm_ns):
        raise at.error(f"region {region} overlaps OVM's non-secure area ({board.ovm_ns})")
    for number, granule in board.secure_ddr:
        if region.overlaps(granule):
            raise at.error(
                f"{owner}: region {region} lies in secure DDR granule {number} ({granule}), "
                "which the board's TrustZone partition keeps for OVM: a guest's accesses "
                "there would be refused"
            )
    for other_owner, other in placed.items():
        if region.overlaps(other):
            raise at.error(f"region {region} overlaps {other_owner} ({other})")


def _first_fit(claim: _Claim, board: Board, placed: list[Region]) -> Region:
    alignment = SUPERSECTION if claim.size % SUPERSECTION == 0 else SECTION
    base = _align_up(board.ovm_ns.end, alignment)
    taken = placed + [region for _, region in board.secure_ddr]
    while True:
        candidate = Region(base, claim.size)
        conflicts = [other for other in taken if other.overlaps(candidate)]
        if not conflicts:
            break
        base = _align_up(max(other.end for other in conflicts), alignment)
    if candidate.end > board.ram.end:
        raise claim.at.field("memory").error(
            f"no free {format_size(alignment)}-aligned range of {format_size(claim.size)} "
            f"left in RAM ({board.ram}) above OVM's non-secure area ({board.ovm_ns})"
        )
    return candidate


def _align_up(value: int, alignment: int) -> int:
    return -(-value // alignment) * alignment
