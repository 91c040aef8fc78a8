"""Interrupt routing with the target vCPU holding its core (scenario
irq-routing): every routed interrupt is injected at once, and the virtual
timer fires at OVM's next tick after its time."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lab

BOOT_S = 30.0
TICK_US = 100


@pytest.fixture(scope="module")
def routing(boot_scenario):
    return boot_scenario("irq-routing")


def test_routed_interrupts_reach_the_vcpu_holding_the_core_at_once(routing):
    match = routing.transcript.wait_for(
        r"^\[nrt\] routed irq 30: (?P<n>\d+) taken, (?P<now>\d+) at once, (?P<later>\d+) after waiting "
        r"for dispatch \(longest (?P<longest>\d+) us\); virtual timer fired (?P<vt>\d+) time\(s\), "
        r"(?P<late>\d+) us late$", BOOT_S)
    assert (int(match["n"]), int(match["now"]), int(match["later"])) == (20, 20, 0)
    assert int(match["vt"]) == 1
    assert int(match["late"]) <= TICK_US
