"""VFP/NEON state switched between vCPUs (scenario vfp-share).

Two SRT VMs run srt_vfp on core 0: every double register and FPSCR's rounding
mode hold values of the VM's own, kept across jobs and checked after every few
instructions of work. Their periods differ, so each one's releases preempt the
other's jobs, and an NRT VM without `fpu` runs between them: any switch that
lost or mixed the state shows up as changed registers in the owner's report.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lab

BOOT_S = 30.0
REPORT_S = 120.0


@pytest.fixture(scope="module")
def vfp_share(boot_scenario):
    return boot_scenario("vfp-share")


def report(transcript, vm: str, jobs: int):
    return transcript.wait_for(
        rf"^\[{vm}\] vfp: {jobs} jobs, (?P<checks>\d+) register checks, "
        r"(?P<changed>\d+) registers changed under the guest$", REPORT_S)


def test_vfp_state_never_leaks_between_vcpus(vfp_share):
    t = vfp_share.transcript
    t.wait_for(r"^\[ovm\] vm\d+ plain: guest 'nrt', level NRT, user mode, .*$", BOOT_S)
    # Each reports after 10 s of jobs: 10,000 of 1 ms, 5,000 of 2 ms.
    a = report(t, "vfp_a", 10000)
    b = report(t, "vfp_b", 5000)
    for found in (a, b):
        assert int(found["checks"]) > 100000
        assert found["changed"] == "0"


def test_sharing_vfp_costs_no_deadline(vfp_share):
    t = vfp_share.transcript
    for vm, jobs in (("vfp_a", 10000), ("vfp_b", 5000)):
        done = t.wait_for(rf"^\[{vm}\] {jobs} jobs: OVM counted (?P<done>\d+) done, "
                          r"(?P<misses>\d+) deadline misses;.*$", REPORT_S)
        assert done["done"] == str(jobs) and done["misses"] == "0"
