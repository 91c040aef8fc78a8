"""The tables OVM builds for user-mode guests, read back from the emulated board's memory
through QEMU's monitor (scenario hostile: user-mode VMs beside a `kernel` HRT VM).

Between two user-mode vCPUs OVM keeps the TLB (design.md §5): each VM's own entries
must be non-global, tagged with its ASID, or on a board the next VM would hit the
previous one's translations. QEMU's TLB is not tagged by ASID (it flushes itself
when CONTEXTIDR changes), so no guest can tell there; the bits are checked here.
The pages every user-mode VM shares (the shim, the private region's first page)
map the same in all of them and stay global.
"""

from __future__ import annotations

import re

import pytest

from lab.firmware.limits import NS_AREA_H, c_define
from lab.firmware.loader import load_board
from lab.paths import OVM_DIR

pytestmark = pytest.mark.lab

BOOT_S = 30.0
SECTION = 1 << 20
L1_TABLE_BYTES = 4096 * 4
NON_GLOBAL_SECTION = 1 << 17
NON_GLOBAL_PAGE = 1 << 11
VM_LINE = re.compile(r"^\[ovm\] vm(?P<id>\d+) (?P<name>\S+): guest '\S+', level \S+, "
                     r"(?P<mode>user|supervisor) mode, memory 0x(?P<base>[0-9a-f]+)-"
                     r"0x(?P<last>[0-9a-f]+) ", re.M)


@pytest.fixture(scope="module")
def hostile(boot_scenario):
    return boot_scenario("hostile")


def read_word(strategy, address: int) -> int:
    said = strategy.power.monitor_command("human-monitor-command",
                                          {"command-line": f"xp /1wx {address:#x}"})
    return int(said.split(":")[1].split()[0], 16)


def test_a_user_mode_vms_own_entries_are_non_global_and_the_shared_pages_global(hostile):
    hostile.transcript.wait_for(r"^\[attacker\] hostile: in user mode", BOOT_S)
    board = load_board(OVM_DIR, "qemu-vexpress-a9")
    tables = board.ovm_ns.base + c_define(NS_AREA_H, "NS_AREA_L1_TABLES")
    shim = board.ovm_ns.base + c_define(NS_AREA_H, "NS_AREA_SHIM")
    vms = [m for m in VM_LINE.finditer(hostile.transcript.text) if m["mode"] == "user"]
    assert {vm["name"] for vm in vms} == {"srt", "attacker"}
    for vm in vms:
        table = tables + int(vm["id"]) * L1_TABLE_BYTES
        base, last = int(vm["base"], 16), int(vm["last"], 16)
        for section in range(base, last, SECTION):
            entry = read_word(hostile, table + (section >> 20) * 4)
            assert entry & 0x3 == 0x2 and entry & ~(SECTION - 1) == section, (vm["name"], hex(entry))
            assert entry & NON_GLOBAL_SECTION, f"{vm['name']}: {section:#x} maps global"
        for shared in (board.periph_base, shim):
            pointer = read_word(hostile, table + (shared >> 20) * 4)
            assert pointer & 0x3 == 0x1, (vm["name"], hex(shared), hex(pointer))
            page = read_word(hostile, (pointer & ~0x3ff) + ((shared >> 12) & 0xff) * 4)
            assert page & 0x2 and page & ~0xfff == shared, (hex(shared), hex(page))
            assert not page & NON_GLOBAL_PAGE, f"{shared:#x} is the same in every VM: global"
