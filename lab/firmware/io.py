"""The virtual devices a VM may reach by the input/output hypercalls, and who may have which.

A scenario grants them by name (`io: [console, timer]`); OVM gets the OR of their
OVM_IO_GRANT_* bits, read from ovm/include/ovm/hypercall.h so that the two cannot
drift apart. Who serves a device decides who may have it: OVM serves the console
and the timer to SRT VMs and the host; the host emulates hostdev for the other NRT
VMs. A core's own timers (ptimer, watchdog) are hardware that OVM keeps from the
guests' writes and serves itself to any user-mode VM on that core, one VM each per
core (sharing.py). An HRT VM touches its devices directly (`devices`); in supervisor
mode it also drives its core's timers directly and has no `io`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .limits import HYPERCALL_H, c_define
from .model import Level, Privilege

# The role of the host VM in `IoDevice.holders`; the other roles are the levels' names.
HOST = "host"


@dataclass(frozen=True)
class IoDevice:
    name: str
    # OVM_IO_GRANT_<NAME> of hypercall.h.
    grant: int
    # Who may be granted it: level names (SRT, NRT: an NRT VM other than the host) and HOST.
    holders: frozenset[str]


IO_DEVICES: dict[str, IoDevice] = {
    device.name: device
    for device in (
        IoDevice("console", c_define(HYPERCALL_H, "OVM_IO_GRANT_CONSOLE"),
                 frozenset({Level.SRT.value, HOST})),
        IoDevice("timer", c_define(HYPERCALL_H, "OVM_IO_GRANT_TIMER"),
                 frozenset({Level.SRT.value, HOST})),
        IoDevice("hostdev", c_define(HYPERCALL_H, "OVM_IO_GRANT_HOSTDEV"),
                 frozenset({Level.NRT.value})),
        IoDevice("ptimer", c_define(HYPERCALL_H, "OVM_IO_GRANT_PTIMER"),
                 frozenset({Level.HRT.value, Level.SRT.value, Level.NRT.value, HOST})),
        IoDevice("watchdog", c_define(HYPERCALL_H, "OVM_IO_GRANT_WATCHDOG"),
                 frozenset({Level.HRT.value, Level.SRT.value, Level.NRT.value, HOST})),
    )
}

# A core's own timers: one VM of each core may have each (see sharing.py).
CORE_TIMERS = ("ptimer", "watchdog")

# Why a role has the devices it has, for the error that refuses another one.
_ROLE_REASONS = {
    Level.HRT.value: "is HRT, whose I/O is passthrough (`devices`) but for its core's timers",
    Level.SRT.value: "is SRT, whose I/O OVM serves",
    Level.NRT.value: "is NRT and not the host, so its I/O goes to the host",
    HOST: "is the host, which emulates the other NRT VMs' devices",
}


def role(level: Level, host: bool) -> str:
    """The VM's role in `IoDevice.holders`."""
    return HOST if host and level is Level.NRT else level.value


def refusal(name: str, vm: str, level: Level, host: bool,
            privilege: Privilege = Privilege.USER) -> str | None:
    """Why VM `vm` may not be granted device `name` (a known one), or None if it may."""
    if privilege is Privilege.KERNEL:
        return (f"device {name!r}: VM {vm!r} runs in supervisor mode (privilege: kernel) and "
                "drives its devices and its core's timers directly: use `devices`")
    who = role(level, host)
    if who in IO_DEVICES[name].holders:
        return None
    allowed = [device.name for device in IO_DEVICES.values() if who in device.holders]
    return (f"device {name!r}: VM {vm!r} {_ROLE_REASONS[who]}: it may have only "
            f"{', '.join(allowed)}")


def grant_mask(names: Iterable[str]) -> int:
    """The OVM_IO_GRANT_* bits of the devices named: vm_config.io and ovm_vm_request.io."""
    mask = 0
    for name in names:
        mask |= IO_DEVICES[name].grant
    return mask
