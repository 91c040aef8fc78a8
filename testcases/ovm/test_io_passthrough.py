"""I/O passthrough on the target (scenario io-passthrough): the HRT VM given the board's
spare UART drives it directly, with no OVM entry on its core; the NRT host, not given it,
faults on it, and every VM faults on the console's page next to it."""

from __future__ import annotations

import pytest

from lab.host.console import abi

pytestmark = pytest.mark.lab

REPORT_S = 30.0


@pytest.fixture(scope="module")
def passthrough(boot_scenario):
    return boot_scenario("io-passthrough")


def test_ovm_maps_the_device_page_for_the_hrt_vm_only(passthrough):
    match = passthrough.transcript.wait_for(
        r"^\[ovm\] vm0 hrt: (?P<devices>\d+) device\(s\) passed through, "
        r"(?P<pages>\d+) page\(s\) mapped$", REPORT_S)
    assert (int(match["devices"]), int(match["pages"])) == (1, 1)
    assert "vm1 nrt: 1 device" not in passthrough.transcript.text


def _device_probe(transcript, vm: str):
    """A VM's probe of the device page: its own page, the page below, output through OVM."""
    return transcript.wait_for(
        rf"^\[{vm}\] device (?P<base>0x[0-9a-f]+): (?P<own>\w+); "
        r"page below it: (?P<below>\w+); output through OVM -> (?P<out>-?\d+)$", REPORT_S)


def test_hrt_guest_drives_its_device_directly_with_no_ovm_entry(passthrough):
    t = passthrough.transcript
    probe = _device_probe(t, "hrt")
    assert (probe["own"], probe["below"]) == ("mapped", "fault")
    assert int(probe["out"]) == abi("OVM_E_PERM")
    report = t.wait_for(
        r"^\[hrt\] device 0x[0-9a-f]+: (?P<ok>\d+)/(?P<n>\d+) write\+read pairs read back; "
        r"OVM entries meanwhile: smc (?P<smc>\d+) fiq (?P<fiq>\d+) irq (?P<irq>\d+); "
        r"(?P<ticks>\d+) ticks for \d+ pairs$", REPORT_S)
    assert int(report["ok"]) == int(report["n"]) == 100
    assert (int(report["smc"]), int(report["fiq"]), int(report["irq"])) == (0, 0, 0)


def test_a_vm_not_given_the_device_faults_on_it_and_keeps_running(passthrough):
    t = passthrough.transcript
    probe = _device_probe(t, "nrt")
    assert (probe["own"], probe["below"]) == ("fault", "fault")
    assert int(probe["out"]) == abi("OVM_E_PERM")
    assert "FAULT" not in t.text
