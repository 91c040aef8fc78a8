"""Interrupt routing with the target vCPU holding its core (scenario
irq-routing): every routed interrupt is injected at once, and the virtual
timer fires at OVM's next tick after its time."""

from __future__ import annotations

import pytest
from nrt_report import routed_irq_report

pytestmark = pytest.mark.lab

BOOT_S = 30.0
TICK_US = 100


@pytest.fixture(scope="module")
def routing(boot_scenario):
    return boot_scenario("irq-routing")


def test_routed_interrupts_reach_the_vcpu_holding_the_core_at_once(routing):
    report = routed_irq_report(routing.transcript, BOOT_S)
    assert (report.taken, report.at_once, report.after_dispatch) == (20, 20, 0)
    assert report.vtimer_fired == 1
    assert report.vtimer_late_us <= TICK_US
