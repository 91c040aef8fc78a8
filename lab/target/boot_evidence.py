"""What a boot of the walking-skeleton scenario proves, read from the console.

For every core: the guest OVM entered, the first SMC that reached the monitor
(with the guest's CPSR), the guest's own word that the SMC round trips came
back, OVM's answers to bad hypercalls, which addresses its memory map lets
it reach, and that timer FIQs reached the monitor (OVM's scheduler events) while the guest ran.
OVM's own lines are read as prose; the guest's figures from its V records
(lab.target.records).
"""

from __future__ import annotations

from dataclasses import dataclass

from .records import parse_records, values_line
from .transcript import ConsoleTranscript

PSR_MODE_MASK = 0x1F
# The ARM modes a non-secure guest can be in when it calls OVM.
PSR_MODES = {0x10: "USR", 0x11: "FIQ", 0x12: "IRQ", 0x13: "SVC", 0x17: "ABT", 0x1B: "UND",
             0x1F: "SYS"}


class BootEvidenceError(Exception):
    """A guest's record of what it saw was printed but cannot be read."""


@dataclass(frozen=True)
class CoreEvidence:
    core: int
    vm: str
    guest_cpsr_at_smc: int
    round_trips_ok: int
    round_trips: int
    bad_index_status: int
    out_of_grant_status: int
    oversized_status: int
    fiq_ticks: int
    # Memory separation as the guest sees it: "mapped" or "fault" for each address.
    own_memory: str
    memory_below: str
    address_zero: str

    @property
    def guest_mode(self) -> int:
        return self.guest_cpsr_at_smc & PSR_MODE_MASK

    @property
    def guest_mode_name(self) -> str:
        """USR for a guest under OVM's shim, SVC for one trusted with supervisor mode."""
        return PSR_MODES.get(self.guest_mode, hex(self.guest_mode))


def core_evidence(transcript: ConsoleTranscript, core: int, timeout_s: float) -> CoreEvidence:
    entered = transcript.wait_for(
        rf"^\[ovm\] core{core}: scheduling \d+ vCPU\(s\), (?:periodic tick|tickless), "
        rf"first (?P<vm>\S+) vcpu\d+$",
        timeout_s, what=f"core {core} entering its guest",
    )
    smc = transcript.wait_for(
        rf"^\[ovm\] core{core}: first SMC from \S+ vcpu\d+ "
        r"\(non-secure cpsr=0x(?P<cpsr>[0-9a-f]+)\), handled in monitor mode$",
        timeout_s, what=f"core {core}'s first SMC in the monitor",
    )
    vm = entered["vm"]

    def figures(name: str, what: str) -> dict[str, int]:
        return _guest_values(transcript, vm, core, name, timeout_s, f"core {core}'s {what}")

    trips = figures("smc_round_trips", "guest back from its SMCs")
    bad = figures("bad_hypercalls", "bad-hypercall results")
    probe = figures("memory_probe", "memory probe")
    ticks = figures("timer_events", "timer FIQs in the monitor")
    return CoreEvidence(
        core=core,
        vm=vm,
        guest_cpsr_at_smc=int(smc["cpsr"], 16),
        round_trips_ok=trips["ok"],
        round_trips=trips["n"],
        bad_index_status=bad["bad_index"],
        out_of_grant_status=bad["out_of_grant"],
        oversized_status=bad["oversized"],
        fiq_ticks=ticks["at_least"],
        own_memory=_reach(probe["own"]),
        memory_below=_reach(probe["below"]),
        address_zero=_reach(probe["zero"]),
    )


def _guest_values(transcript: ConsoleTranscript, vm: str, core: int, name: str,
                  timeout_s: float, what: str) -> dict[str, int]:
    """The guest's V record ``name`` once printed; an error says why it is unusable."""
    transcript.wait_for(values_line(vm, name), timeout_s, what=what)
    records = parse_records(transcript.text)
    rejected = [r.reason for r in records.rejected if (r.vm, r.series) == (vm, name)]
    if rejected:
        raise BootEvidenceError(f"{what}: {vm}'s {name} record rejected: {'; '.join(rejected)}")
    values = records.values_of(name, vm)
    if values.get("core") != core:
        raise BootEvidenceError(f"{what}: {vm}'s {name} record is of core {values.get('core')}")
    return values


def _reach(read_ok: int) -> str:
    """The guest's probe read, 1 when it succeeded, in CoreEvidence's words."""
    return "mapped" if read_ok else "fault"
