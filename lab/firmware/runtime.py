"""A VM the host starts at run time with the `register` hypercall, checked as the build
checks a scenario's VMs.

The lab writes the request in the scenario's VM format (name, guest, level, cores,
memory: {size}, and optionally realtime, args, io); `runtime_request` checks it with
the loader's own checks, against the scenario's run-time images, and gives the
fields of struct ovm_vm_request (ovm/include/ovm/hypercall.h). Errors name the
pseudo-file REGISTER: "<register>: memory.size: ...".
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from .io import CORE_TIMERS, grant_mask
from .loader import memory_size, vm_fields
from .model import Board, RtParams, Scenario
from .yaml_checks import At, format_size, mapping, string

# Where a run-time request's errors say it comes from (it has no file).
REGISTER = Path("<register>")

_KEYS = ("name", "guest", "level", "cores", "memory")
_OPTIONAL_KEYS = ("realtime", "args", "io")
# A scenario VM's keys that a run-time VM cannot have, and why.
_REFUSED_KEYS = {
    "host": "a run-time VM cannot be the host (the host is one of the scenario's VMs)",
    "devices": "a run-time VM is given no devices: passthrough is fixed when OVM is built",
    "irqs": "a run-time VM is routed no interrupts: routes are fixed when OVM is built",
    "privilege": "a run-time VM runs in user mode: only a scenario may trust a VM with "
                 "supervisor mode",
}

# struct ovm_vm_request on the (little-endian) ARM: char name[16], char guest[16], nine
# unsigned ints (level, core_mask, mem_size, deadline_us, period_us, budget_us, args[2], io).
_LAYOUT = struct.Struct("<16s16s9I")


@dataclass(frozen=True)
class RuntimeRequest:
    """The fields of struct ovm_vm_request: `register`'s argument."""

    name: str
    guest: str
    # 0 HRT, 1 SRT, 2 NRT.
    level: int
    core_mask: int
    mem_size: int
    # The SRT reservation; all 0 for none.
    deadline_us: int
    period_us: int
    budget_us: int
    args: tuple[int, int]
    # OVM_IO_GRANT_* bits.
    io: int

    def to_bytes(self) -> bytes:
        """The struct as the guest hands it to OVM (names NUL-padded)."""
        return _LAYOUT.pack(
            self.name.encode("ascii"), self.guest.encode("ascii"), self.level, self.core_mask,
            self.mem_size, self.deadline_us, self.period_us, self.budget_us, *self.args, self.io,
        )


def runtime_request(doc: object, board: Board, scenario: Scenario) -> RuntimeRequest:
    """Check one VM mapping for `register` in `scenario` on `board`; ConfigError if bad."""
    at = At(REGISTER)
    if isinstance(doc, dict):
        for key, reason in _REFUSED_KEYS.items():
            if key in doc:
                raise at.field(key).error(reason)
    checked = mapping(doc, at, required=_KEYS, optional=_OPTIONAL_KEYS)
    fields = vm_fields(checked, at, board, scenario.scheduler, host=False)
    timers = [name for name in fields.io if name in CORE_TIMERS]
    if timers:
        raise at.field("io").error(
            f"device {timers[0]!r}: a run-time VM is given no core timer: which VM of a core has "
            "it is fixed when OVM is built"
        )
    if any(vm.name == fields.name for vm in scenario.vms):
        raise at.field("name").error(
            f"VM name {fields.name!r} is taken by a VM of scenario {scenario.name!r}"
        )

    guest_at = at.field("guest")
    guest = string(checked["guest"], guest_at)
    image = next((image for image in scenario.runtime if image.guest == guest), None)
    if image is None:
        known = ", ".join(image.guest for image in scenario.runtime) or "none"
        raise guest_at.error(
            f"guest {guest!r} is not a run-time image of scenario {scenario.name!r} "
            f"(run-time images: {known})"
        )

    memory_at = at.field("memory")
    if isinstance(checked["memory"], dict) and "offset" in checked["memory"]:
        raise memory_at.field("offset").error(
            "a run-time VM runs in the memory its image is linked for: give only its size"
        )
    memory = mapping(checked["memory"], memory_at, required=("size",))
    mem_size = memory_size(memory["size"], memory_at.field("size"))
    if mem_size > image.memory.size:
        raise memory_at.field("size").error(
            f"{format_size(mem_size)} exceeds the {format_size(image.memory.size)} of "
            f"run-time image {guest!r} ({image.memory})"
        )

    rt = fields.realtime or RtParams(0, 0, 0)
    arg0, arg1 = (*fields.args, 0, 0)[:2]
    return RuntimeRequest(
        name=fields.name,
        guest=guest,
        level=fields.level.number,
        core_mask=sum(1 << core for core in fields.cores),
        mem_size=mem_size,
        deadline_us=rt.deadline_us,
        period_us=rt.period_us,
        budget_us=rt.budget_us,
        args=(arg0, arg1),
        io=grant_mask(fields.io),
    )
