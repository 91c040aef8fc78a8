"""The walking skeleton on a target: OVM boots on every core, each core's guest
crosses secure -> non-secure -> SMC -> secure -> non-secure, OVM refuses bad
hypercalls, guests reach only their own memory, and OVM's timer FIQ reaches
the monitor while guests run. Runs on QEMU and, unchanged, on a board."""

from __future__ import annotations

import pytest

from lab.target.boot_evidence import CoreEvidence, core_evidence

pytestmark = pytest.mark.lab

TIMEOUT_S = 20.0
ROUND_TRIPS = 3
TICKS_REPORTED = 100
# As ovm/include/ovm/hypercall.h defines them.
OVM_E_NOSYS, OVM_E_INVAL, OVM_E_FAULT = -1, -3, -4
PSR_MODE_USR = 0x10
BOARD_CORES = 2


@pytest.fixture(scope="module")
def evidence(ovm) -> list[CoreEvidence]:
    return [core_evidence(ovm.transcript, core, TIMEOUT_S) for core in range(ovm.banner.cores)]


def test_banner_reports_every_core_up(ovm):
    assert ovm.banner.cores_up == ovm.banner.cores == BOARD_CORES
    assert ovm.banner.scenario == "default"


def test_each_core_runs_its_own_guest(evidence):
    assert [e.core for e in evidence] == list(range(BOARD_CORES))
    assert len({e.vm for e in evidence}) == BOARD_CORES


def test_a_call_reaches_the_monitor_from_non_secure_user_mode(evidence):
    # Through OVM's shim: the guest's SVC became the shim's SMC, the frame the guest's own.
    for core in evidence:
        assert core.guest_mode == PSR_MODE_USR, core
        assert core.guest_mode_name == "USR"


def test_smc_round_trip_returns_to_the_guest_on_each_core(evidence):
    for core in evidence:
        assert (core.round_trips_ok, core.round_trips) == (ROUND_TRIPS, ROUND_TRIPS), core


def test_bad_hypercalls_get_error_codes_and_the_guest_keeps_running(evidence):
    for core in evidence:
        assert core.bad_index_status == OVM_E_NOSYS
        assert core.out_of_grant_status == OVM_E_FAULT
        assert core.oversized_status == OVM_E_INVAL


def test_guests_reach_their_own_memory_and_nothing_of_ovm_or_other_vms(evidence):
    # 1 MiB below a guest is OVM's non-secure area (its translation tables) for the
    # first VM and the first VM's memory for the second.
    for core in evidence:
        assert (core.own_memory, core.memory_below, core.address_zero) == (
            "mapped", "fault", "fault"), core


def test_timer_fiq_reaches_the_monitor_while_guests_run(evidence):
    for core in evidence:
        assert core.fiq_ticks == TICKS_REPORTED
