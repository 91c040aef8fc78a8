"""What a boot of the walking-skeleton scenario proves, read from the console.

For every core: the guest OVM entered, the first SMC that reached the monitor
(with the guest's CPSR), the guest's own word that the SMC round trips came
back, OVM's answers to bad hypercalls, which addresses its memory map lets
it reach, and that timer FIQs reached the monitor (OVM's scheduler events) while the guest ran.
"""

from __future__ import annotations

from dataclasses import dataclass

from .transcript import ConsoleTranscript

PSR_MODE_MASK = 0x1F


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
    trips = transcript.wait_for(
        rf"^\[\S+\] core {core}: smc round trip (?P<ok>\d+)/(?P<n>\d+) ok$",
        timeout_s, what=f"core {core}'s guest back from its SMCs",
    )
    bad = transcript.wait_for(
        rf"^\[\S+\] core {core}: bad index -> (?P<index>-?\d+), out-of-grant address -> "
        r"(?P<addr>-?\d+), oversized write -> (?P<size>-?\d+)$",
        timeout_s, what=f"core {core}'s bad-hypercall results",
    )
    probe = transcript.wait_for(
        rf"^\[\S+\] core {core}: memory probe: own (?P<own>\S+), 1 MiB below (?P<below>\S+), "
        r"address 0 (?P<zero>\S+)$",
        timeout_s, what=f"core {core}'s memory probe",
    )
    ticks = transcript.wait_for(
        rf"^\[\S+\] core {core}: (?P<ticks>\d+) OVM timer events taken in monitor mode "
        r"while this guest ran$",
        timeout_s, what=f"core {core}'s timer FIQs in the monitor",
    )
    return CoreEvidence(
        core=core,
        vm=entered["vm"],
        guest_cpsr_at_smc=int(smc["cpsr"], 16),
        round_trips_ok=int(trips["ok"]),
        round_trips=int(trips["n"]),
        bad_index_status=int(bad["index"]),
        out_of_grant_status=int(bad["addr"]),
        oversized_status=int(bad["size"]),
        fiq_ticks=int(ticks["ticks"]),
        own_memory=probe["own"],
        memory_below=probe["below"],
        address_zero=probe["zero"],
    )
