"""The NRT guest's report of its routed-interrupt check (ovm/guests/nrt/main.c)."""

from __future__ import annotations

from dataclasses import dataclass

from lab.target.transcript import ConsoleTranscript

ROUTED_IRQ_REPORT = (
    r"^\[nrt\] routed irq 30: (?P<n>\d+) taken, (?P<now>\d+) at once, (?P<later>\d+) after waiting "
    r"for dispatch \(longest (?P<longest>\d+) us\); virtual timer fired (?P<vt>\d+) time\(s\), "
    r"(?P<late>\d+) us late$"
)


@dataclass(frozen=True)
class RoutedIrqReport:
    taken: int
    at_once: int
    after_dispatch: int
    longest_us: int
    vtimer_fired: int
    vtimer_late_us: int


def routed_irq_report(transcript: ConsoleTranscript, timeout_s: float) -> RoutedIrqReport:
    match = transcript.wait_for(ROUTED_IRQ_REPORT, timeout_s, what="the NRT guest's interrupt check")
    return RoutedIrqReport(*(int(match[key]) for key in ("n", "now", "later", "longest", "vt", "late")))
