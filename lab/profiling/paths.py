"""The paths through OVM a profile can pick out of a trace, and where each is exercised."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .trace import Visit


@dataclass(frozen=True)
class ProfilePath:
    name: str
    description: str
    # The scenario that takes the path often, and the console line after which it does.
    scenario: str
    start: str
    takes: Callable[[Visit], bool]


def _entered_by_fiq(visit: Visit) -> bool:
    return visit.entered_by("mon_fiq")


def _fast_interrupt(visit: Visit) -> bool:
    return (_entered_by_fiq(visit) and visit.passes("fiq_user")
            and not visit.passes("fiq_slow") and visit.came_from == visit.went_to)


def _release(visit: Visit) -> bool:
    return (_entered_by_fiq(visit) and visit.passes("sched_pick")
            and visit.came_from != visit.went_to)


def _hypercall(handler: str) -> Callable[[Visit], bool]:
    return lambda visit: visit.passes(handler)


_SHARED_MEASURING = r"^\[srt\] SRT probe: set_realtime_info"

PATHS: dict[str, ProfilePath] = {path.name: path for path in (
    ProfilePath("vm_exit", "an SRT job's vm_exit, to the NRT (the evaluation's SRT->NRT switch)",
                "eval-shared", _SHARED_MEASURING, _hypercall("hc_vm_exit")),
    ProfilePath("release", "an SRT release: OVM's timer FIQ, EDF pick, switch from the NRT",
                "eval-shared", _SHARED_MEASURING, _release),
    ProfilePath("interrupt", "a routed line delivered at once to the user-mode vCPU holding the "
                "core: the monitor's fast path and the upcall",
                "eval-shared", _SHARED_MEASURING, _fast_interrupt),
    ProfilePath("irq_ack", "the guest's irq_ack hypercall after an upcall",
                "eval-shared", _SHARED_MEASURING, _hypercall("hc_irq_ack")),
    ProfilePath("irq_eoi", "the guest's irq_eoi hypercall",
                "eval-shared", _SHARED_MEASURING, _hypercall("hc_irq_eoi")),
    ProfilePath("input", "an input hypercall of OVM's timer device (io_cost_ns.ovm_proxy)",
                "io-proxy", r"^OVM \S+ board=",
                lambda visit: visit.passes("hc_input") and visit.passes("timer_access")),
)}
