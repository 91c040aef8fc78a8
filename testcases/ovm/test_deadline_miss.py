"""Deadline misses (scenario srt-overload): the SRT guest's jobs run 1.5 periods,
so under OVM's policy (a late job goes on as the next period's) each job misses
exactly one deadline. OVM must count every one, signal the guest's miss handler
for every one, and see each within 200 us of the deadline (the paper's bound
at a 100 us tick), with the tick and tickless. A second SRT guest on the core
makes the first one's own declaration of the overload fail admission at run
time."""

from __future__ import annotations

import pytest
from nrt_report import routed_irq_report

from lab.target.records import parse_records, values_line

pytestmark = pytest.mark.lab

BOOT_S = 30.0
REPORT_S = 120.0
OVM_E_OVERLOAD = -5
DETECTION_BOUND_US = 200


# With the paper's 100 us tick, and tickless (OVM's timer set for the next event only).
@pytest.fixture(scope="module", params=["srt-overload", "srt-overload-tickless"])
def overload(request, boot_scenario):
    return boot_scenario(request.param)


def deadline_report(transcript, vm: str) -> dict[str, int]:
    """The SRT guest's first report of OVM's counts (its ``deadline`` V record)."""
    transcript.wait_for(values_line(vm, "deadline"), REPORT_S)
    records = parse_records(transcript.text)
    assert [r for r in records.rejected if (r.vm, r.series) == (vm, "deadline")] == []
    return records.values_of("deadline", vm)


def test_declaring_an_unschedulable_set_is_refused_at_run_time(overload):
    match = overload.transcript.wait_for(
        r"^\[srt\] set_realtime_info\(D=1000, T=1000, C=1000 us\) -> (?P<s>-?\d+); "
        r"jobs of 1500 us \(overload\)$", BOOT_S)
    assert int(match["s"]) == OVM_E_OVERLOAD


def test_every_miss_is_detected_signalled_and_seen_within_200_us(overload):
    report = deadline_report(overload.transcript, "srt")
    assert report["jobs"] == report["done"] == 100
    assert report["misses"] == 100
    assert report["handler_runs"] == 100
    assert report["max_detect_us"] <= DETECTION_BOUND_US


def test_the_other_srt_guest_keeps_its_deadlines(overload):
    report = deadline_report(overload.transcript, "srt2")
    assert report["jobs"] == 1000
    assert report["misses"] == 0


def test_routed_interrupts_and_the_virtual_timer_reach_the_nrt_guest(overload):
    report = routed_irq_report(overload.transcript, BOOT_S)
    assert report.taken == report.at_once + report.after_dispatch == 20
    # Pending while the SRT guests hold the core, delivered at the NRT's next dispatch.
    assert report.after_dispatch > 0
    assert report.longest_us < 1300
    assert report.vtimer_fired == 1
