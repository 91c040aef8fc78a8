"""`register` onto a core the scenario leaves empty (scenario register-idle): the
core waits with no vCPU until the host registers one, and an HRT VM registered
there is handed the core as an HRT VM configured at build time would be; after
that, the core takes no other VM."""

from __future__ import annotations

import pytest

from lab.host.console import HostConsole, RegisterRefused

pytestmark = pytest.mark.lab

COMMAND_S = 20.0
GUEST_S = 30.0


@pytest.fixture(scope="module")
def host(boot_scenario) -> HostConsole:
    console = HostConsole(boot_scenario("register-idle"), timeout_s=COMMAND_S)
    console.wait_ready()
    return console


def test_the_empty_core_waits_for_a_vm(host):
    host.transcript.wait_for(
        r"^\[ovm\] core1: no vCPU configured, idle until one is registered$", GUEST_S)
    assert [vm.name for vm in host.info().vms] == ["host"]


def test_an_hrt_vm_registered_there_takes_the_core(host):
    vm_id = host.register({"name": "late", "guest": "hello", "level": "HRT", "cores": [1],
                           "memory": {"size": "4M"}})
    t = host.transcript
    t.wait_for(r"^\[ovm\] core1: handed over to HRT late vcpu0, no OVM tick on this core$",
               GUEST_S)
    t.wait_for(r"^\[late\] vcpu0 of 1 running non-secure on core 1$", GUEST_S)
    t.wait_for(r"^\[late\] core 1: smc round trip 3/3 ok$", GUEST_S)
    late = next(vm for vm in host.info().vms if vm.name == "late")
    assert (late.id, late.level, late.core_mask, late.registered) == (vm_id, "HRT", 0x2, True)


def test_the_hrt_core_then_takes_no_other_vm(host):
    before = host.info()
    with pytest.raises(RegisterRefused) as refused:
        host.register({"name": "other", "guest": "srt", "level": "NRT", "cores": [1],
                       "memory": {"size": "4M"}})
    assert refused.value.status_name == "OVM_E_OVERLOAD"
    assert host.info().vms == before.vms
