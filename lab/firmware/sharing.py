"""Checks across a scenario's VMs: who may share a core, an interrupt and the host role."""

from __future__ import annotations

import math
from collections.abc import Sequence

from .admission import (
    MAX_POINTS,
    Admitted,
    DemandExceeded,
    Overload,
    RtTask,
    TooCostly,
    ovm_admission,
)
from .io import CORE_TIMERS
from .model import VM, Level
from .yaml_checks import At

# GIC interrupt IDs: 0..15 SGIs (not routable), 16..31 PPIs (one per core), 32.. SPIs.
FIRST_PPI = 16
FIRST_SPI = 32


def check_sharing(vms: Sequence[VM], at: At, ticks_per_us: int = 1) -> None:
    """`at` names the scenario's list of VMs; OVM's admission counts in the board's timer
    ticks, `ticks_per_us` to a microsecond."""
    _check_core_occupation(vms, at)
    _check_host(vms, at)
    _check_irq_routes(vms, at)
    _check_devices(vms, at)
    _check_core_timers(vms, at)
    _check_admission(vms, at, ticks_per_us)


def _check_core_occupation(vms: Sequence[VM], at: At) -> None:
    for index, vm in enumerate(vms):
        for earlier in vms[:index]:
            shared = [core for core in vm.cores if core in earlier.cores]
            if not shared:
                continue
            if earlier.level is Level.HRT:
                raise at.item(index).field("cores").error(
                    f"core {shared[0]} is occupied by HRT VM '{earlier.name}' "
                    "(an HRT vCPU owns its core)"
                )
            if vm.level is Level.HRT:
                raise at.item(index).field("cores").error(
                    f"core {shared[0]} is already used by VM '{earlier.name}' "
                    "(an HRT vCPU owns its core)"
                )


def _check_host(vms: Sequence[VM], at: At) -> None:
    host: VM | None = None
    for index, vm in enumerate(vms):
        if not vm.host:
            continue
        if vm.level is not Level.NRT:
            raise at.item(index).field("host").error(
                f"the host VM must be NRT, VM '{vm.name}' is {vm.level.value}"
            )
        if host is not None:
            raise at.item(index).field("host").error(
                f"VM '{host.name}' is the host already (at most one host VM)"
            )
        host = vm
    if host is None:
        for index, vm in enumerate(vms):
            if "hostdev" in vm.io:
                raise at.item(index).field("io").error(
                    f"VM '{vm.name}' is given hostdev, which the host emulates, but no VM is "
                    "the host (host: true): its accesses would wait for ever"
                )


def _check_irq_routes(vms: Sequence[VM], at: At) -> None:
    # An SPI is one line for the whole chip; a PPI is one line per core.
    owners: dict[tuple[int, int | None], VM] = {}
    for vm_index, vm in enumerate(vms):
        for irq_index, wanted in enumerate(vm.irqs):
            core = vm.cores[wanted.vcpu]
            is_spi = wanted.irq >= FIRST_SPI
            line = (wanted.irq, None if is_spi else core)
            owner = owners.get(line)
            if owner is None:
                owners[line] = vm
                continue
            what = f"SPI {wanted.irq}" if is_spi else f"PPI {wanted.irq} on core {core}"
            rule = "(an SPI goes to one vCPU)" if is_spi else "(a PPI goes to one vCPU per core)"
            where = (
                f"twice in VM '{vm.name}'" if owner is vm
                else f"to both VM '{owner.name}' and VM '{vm.name}'"
            )
            raise at.item(vm_index).field("irqs").item(irq_index).error(
                f"{what} is routed {where} {rule}"
            )


def _check_devices(vms: Sequence[VM], at: At) -> None:
    """A device passed through belongs to one VM: any other's access must fault."""
    owners: dict[str, str] = {}
    for vm_index, vm in enumerate(vms):
        for device_index, device in enumerate(vm.devices):
            if device.name in owners:
                raise at.item(vm_index).field("devices").item(device_index).error(
                    f"device {device.name!r} is passed through to VM {owners[device.name]!r} "
                    f"already; a device has one owner")
            owners[device.name] = vm.name


def _check_core_timers(vms: Sequence[VM], at: At) -> None:
    """A core's private timer and watchdog each serve one VM on that core."""
    owners: dict[tuple[str, int], VM] = {}
    for vm_index, vm in enumerate(vms):
        for io_index, name in enumerate(vm.io):
            if name not in CORE_TIMERS:
                continue
            for core in vm.cores:
                owner = owners.setdefault((name, core), vm)
                if owner is not vm:
                    raise at.item(vm_index).field("io").item(io_index).error(
                        f"core {core}'s {name} is VM '{owner.name}''s already; each core's "
                        f"{name} serves one VM"
                    )


def _check_admission(vms: Sequence[VM], at: At, ticks_per_us: int) -> None:
    # Checked as each VM joins its cores, so the error points at the VM that tips a core over.
    on_core: dict[int, list[VM]] = {}
    for index, vm in enumerate(vms):
        if vm.realtime is None:
            continue
        for core in vm.cores:
            members = on_core.setdefault(core, [])
            members.append(vm)
            verdict = ovm_admission([_task(member) for member in members], ticks_per_us)
            if isinstance(verdict, Admitted):
                continue
            names = ", ".join(f"'{member.name}'" for member in members)
            raise at.item(index).field("realtime").error(
                f"core {core}: SRT set not EDF-schedulable: {_reason(verdict)} (VMs {names})"
            )


def _task(vm: VM) -> RtTask:
    assert vm.realtime is not None
    return RtTask(vm.realtime.deadline_us, vm.realtime.period_us, vm.realtime.budget_us)


def _reason(verdict: Overload | DemandExceeded | TooCostly) -> str:
    if isinstance(verdict, TooCostly):
        return (f"proving it takes more than the {MAX_POINTS} deadlines OVM checks at "
                f"(ADMISSION_MAX_POINTS), utilization {float(verdict.utilization):.3f}")
    if isinstance(verdict, Overload):
        # Rounded up, so that a utilization just above 1 never reads "1.000 > 1".
        per_mille = math.ceil(verdict.utilization * 1000)
        return f"utilization {per_mille / 1000:.3f} ({per_mille / 10:.1f}%) > 1"
    return (
        f"demand {verdict.demand} us in the first {verdict.interval} us "
        f"(utilization {float(verdict.utilization):.3f})"
    )
