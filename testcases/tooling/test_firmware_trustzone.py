"""The board's TrustZone partition (`trustzone:`): validation, placement around secure DDR
granules, and the tables generated for OVM's TrustZone driver."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scenario_tree import (
    BOARD,
    BOARD_FILE,
    SCENARIO_FILE,
    board_error,
    placed,
    scenario_error,
    vm,
    write_board,
    write_scenario,
)

from lab.firmware.codegen import render
from lab.firmware.errors import ConfigError
from lab.firmware.loader import load_board, load_scenario
from lab.firmware.model import MIB, Region, TzController

REPO_OVM = Path(__file__).resolve().parents[2] / "ovm"
GRANULE = 64 * MIB

# A ZC702-like test board: 1 GiB of DDR at 0, OVM at 256 MiB, granule 4 secure.
TZ: dict[str, Any] = {
    "controller": "zynq-7000",
    "secure_ddr_granules": [4],
    "controls": {"tz_ocm_ram0": {"address": 0xF8000400, "value": 0}},
    "secure_only": {"devcfg": {"base": 0xF8007000, "size": "4K"}},
}


def tz_board(**trustzone: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BOARD)
    doc["ram"] = {"base": 0, "size": "1G"}
    doc["ovm"] = {"offset": 0x10000000, "size": "16M"}
    doc["trustzone"] = {**copy.deepcopy(TZ), **trustzone}
    return doc


@pytest.fixture
def tz_tree(tree: Path) -> Path:
    write_board(tree, tz_board())
    return tree


# --- the real boards -----------------------------------------------------------


def test_zc702_keeps_ovms_granule_secure() -> None:
    board = load_board(REPO_OVM, "zc702")
    tz = board.trustzone
    assert tz is not None and tz.controller is TzController.ZYNQ_7000
    assert board.secure_ddr == ((4, Region(0x10000000, GRANULE)),)
    assert tz.secure_ddr_mask == 0x10
    # OVM's image stays linked (and loaded by U-Boot) at 0x10000000; its non-secure area,
    # read by the guests' non-secure table walks, moves past the secure granule.
    assert board.ovm == Region(0x10000000, 16 * MIB)
    assert board.ovm_ns == Region(0x14000000, MIB)
    controls = {control.name: control for control in tz.controls}
    assert controls["security4_qspi"].address == 0xE0200010 and controls["security4_qspi"].value == 0
    assert controls["tz_gem"].value == 0x3
    assert {block.name for block in tz.secure_only} == {"slcr", "devcfg", "nic301_security"}


def test_qemu_has_no_partition() -> None:
    board = load_board(REPO_OVM, "qemu-vexpress-a9")
    assert board.trustzone is None and board.secure_ddr == ()
    assert board.ovm_ns == Region(0x61000000, MIB)


def test_zc702_scenarios_keep_clear_of_the_secure_granule() -> None:
    board = load_board(REPO_OVM, "zc702")
    for name in ("default", "paper-eval", "io-proxy", "register-idle"):
        scenario = load_scenario(REPO_OVM, name, board)
        regions = [v.memory for v in scenario.vms] + [i.memory for i in scenario.runtime]
        for region in regions:
            assert not region.overlaps(Region(0x10000000, GRANULE)), (name, region)
            assert not region.overlaps(board.ovm_ns)


# --- validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("trustzone", "message"),
    [
        ({"controller": "tzc-400"},
         "trustzone.controller: 'tzc-400' is not one of: zynq-7000"),
        ({"secure_ddr_granules": [5]},
         "trustzone.secure_ddr_granules: OVM's region 0x10000000-0x10ffffff lies in granule 4 "
         "(0x10000000-0x13ffffff), which is not listed: OVM's memory would stay reachable from "
         "the non-secure world"),
        ({"secure_ddr_granules": []},
         "trustzone.secure_ddr_granules: OVM's region 0x10000000-0x10ffffff lies in granule 4 "
         "(0x10000000-0x13ffffff), which is not listed: OVM's memory would stay reachable from "
         "the non-secure world"),
        ({"secure_ddr_granules": [4, 32]},
         "trustzone.secure_ddr_granules[1]: 32 is out of range 0..31"),
        ({"secure_ddr_granules": [4, 4]},
         "trustzone.secure_ddr_granules[1]: granule 4 is listed twice"),
        ({"secure_ddr_granules": [4, 16]},
         "trustzone.secure_ddr_granules[1]: granule 16 (0x40000000-0x43ffffff) lies outside "
         "RAM (0x00000000-0x3fffffff)"),
        ({"secure_ddr_granules": "4"},
         "trustzone.secure_ddr_granules: expected a list, got '4'"),
        ({"controls": {"ddr": {"address": 0xF8000430, "value": 0}}},
         "trustzone.controls.ddr.address: 0xf8000430 is TZ_DDR_RAM, which OVM writes from "
         "secure_ddr_granules"),
        ({"controls": {"unlock": {"address": 0xF8000008, "value": 0xDF0D}}},
         "trustzone.controls.unlock.address: 0xf8000008 is not a TrustZone control of the "
         "zynq-7000 (the SLCR's TrustZone registers 0xf8000400-0xf80004ff; the "
         "nic301_addr_region_ctrl_registers 0xe0200000-0xe0200fff)"),
        ({"controls": {"a": {"address": 0xF8000400, "value": 0},
                       "b": {"address": 0xF8000400, "value": 1}}},
         "trustzone.controls.b.address: 0xf8000400 is also control 'a'"),
        ({"controls": {"TZ-OCM": {"address": 0xF8000400, "value": 0}}},
         "trustzone.controls.TZ-OCM: 'TZ-OCM' is not a valid control name "
         "(lower case, digits, _)"),
        ({"controls": {"a": {"address": 0xF8000402, "value": 0}}},
         "trustzone.controls.a.address: 0xf8000402 is not aligned to 0x4 bytes"),
        ({"controls": {"a": {"address": 0xF8000400, "value": 1 << 32}}},
         "trustzone.controls.a.value: 4294967296 is out of range 0..4294967295"),
        ({"controls": {"a": {"address": 0xF8000400}}},
         "trustzone.controls.a.value: required key missing"),
        ({"controls": [0xF8000400]},
         "trustzone.controls: expected a mapping of control names to {address, value}"),
        ({"granules": [4]},
         "trustzone.granules: unknown key (allowed: controller, controls, secure_ddr_granules, "
         "secure_only)"),
    ],
)
def test_rejected_partitions(tree: Path, trustzone: dict[str, Any], message: str) -> None:
    write_board(tree, tz_board(**trustzone))
    assert board_error(tree) == f"{BOARD_FILE}: {message}"


def test_a_device_in_a_secure_only_block_is_refused(tree: Path) -> None:
    doc = tz_board()
    doc["devices"] = {"pcap": {"base": 0xF8007000, "size": "4K"}}
    write_board(tree, doc)
    assert board_error(tree) == (
        f"{BOARD_FILE}: devices.pcap: region 0xf8007000-0xf8007fff overlaps 'devcfg' "
        "(0xf8007000-0xf8007fff), which trustzone.secure_only keeps for the secure world"
    )


def test_the_non_secure_area_must_fit_after_the_secure_granules(tree: Path) -> None:
    doc = tz_board(secure_ddr_granules=[15])
    doc["ovm"] = {"offset": 0x3C000000, "size": "16M"}
    write_board(tree, doc)
    assert board_error(tree) == (
        f"{BOARD_FILE}: ovm: OVM's non-secure area 0x40000000-0x400fffff (the 1 MiB after the "
        "secure granules holding it) lies outside RAM (0x00000000-0x3fffffff)"
    )


def test_a_null_partition_is_no_partition(tree: Path) -> None:
    doc = copy.deepcopy(BOARD)
    doc["trustzone"] = None
    write_board(tree, doc)
    assert load_board(tree, "b").trustzone is None


# --- placement ------------------------------------------------------------------


def test_a_vm_in_a_secure_granule_is_refused_naming_both(tz_tree: Path) -> None:
    fixed = vm("intruder", memory={"size": "1M", "offset": 0x12000000})
    assert scenario_error(tz_tree, [fixed]) == (
        f"{SCENARIO_FILE}: vms[0].memory: VM 'intruder': region 0x12000000-0x120fffff lies in "
        "secure DDR granule 4 (0x10000000-0x13ffffff), which the board's TrustZone partition "
        "keeps for OVM: a guest's accesses there would be refused"
    )


def test_a_runtime_image_in_a_secure_granule_is_refused(tz_tree: Path) -> None:
    image = {"guest": "hello", "memory": {"size": "1M", "offset": 0x13F00000}}
    assert scenario_error(tz_tree, [vm()], runtime=[image]) == (
        f"{SCENARIO_FILE}: runtime[0].memory: run-time image 'hello': region "
        "0x13f00000-0x13ffffff lies in secure DDR granule 4 (0x10000000-0x13ffffff), which the "
        "board's TrustZone partition keeps for OVM: a guest's accesses there would be refused"
    )


def test_placement_starts_after_the_secure_granule_and_skips_others(tree: Path) -> None:
    write_board(tree, tz_board(secure_ddr_granules=[4, 6]))
    # 48 MiB fits in granule 5 after the non-secure area; 32 MiB must jump over granule 6.
    assert placed(tree, [vm("a"), vm("b", "32M"), vm("c", "32M")]) == [
        "0x14100000-0x141fffff",
        "0x15000000-0x16ffffff",
        "0x1c000000-0x1dffffff",
    ]


def test_free_memory_excludes_secure_granules(tz_tree: Path) -> None:
    # 1 GiB - 64 MiB (granule 4, OVM's region inside it) - 1 MiB (non-secure area).
    assert scenario_error(tz_tree, [vm("a", "960M")]) == (
        f"{SCENARIO_FILE}: vms: the VMs need 960 MiB of memory, but only 959 MiB of RAM is free "
        "outside OVM's region, non-secure area and secure DDR granules"
    )


@settings(max_examples=60, deadline=None)
@given(
    granules=st.sets(st.integers(5, 15), max_size=4),
    sizes_mib=st.lists(st.sampled_from([1, 2, 3, 16, 48, 64]), min_size=1, max_size=6),
)
def test_automatic_placement_never_lands_in_a_secure_granule(
    tmp_path_factory: pytest.TempPathFactory, granules: set[int], sizes_mib: list[int]
) -> None:
    from scenario_tree import make_tree

    root = make_tree(tmp_path_factory.mktemp("tz"))
    write_board(root, tz_board(secure_ddr_granules=[4, *sorted(granules)]))
    write_scenario(root, {"description": "t",
                          "vms": [vm(f"v{i}", f"{s}M") for i, s in enumerate(sizes_mib)]})
    board = load_board(root, "b")
    try:
        scenario = load_scenario(root, "s", board)
    except ConfigError:
        return
    for placed_vm in scenario.vms:
        assert board.ram.contains(placed_vm.memory)
        assert not placed_vm.memory.overlaps(board.ovm_ns)
        for _, granule in board.secure_ddr:
            assert not placed_vm.memory.overlaps(granule)


# --- generated tables -----------------------------------------------------------


def _render(board_name: str, tmp_path: Path) -> dict[str, str]:
    board = load_board(REPO_OVM, board_name)
    scenario = load_scenario(REPO_OVM, "default", board)
    bins = {v.name: tmp_path / f"{v.name}.bin" for v in scenario.vms}
    return render(board, scenario, guest_bins=bins, build_id="0123456789ab")


@pytest.mark.parametrize("board, lines, driver", [
    ("zc702", ["\t.secure_ddr_mask = 0x00000010,", "\t.ddr_granule_shift = 26,",
               "\t.ovm_ns_base = 0x14000000,",
               '\t{ .name = "security4_qspi", .addr = 0xe0200010, .value = 0x00000000 },'],
     "zynq7000"),
    # vexpress models no TrustZone memory controller: empty tables, a hook that does nothing.
    ("qemu-vexpress-a9", ["\t.secure_ddr_mask = 0x00000000,", "\t.control_count = 0,",
                          "\t{ .name = NULL },"], "none"),
])
def test_trustzone_tables(tmp_path: Path, board: str, lines: list[str], driver: str) -> None:
    files = _render(board, tmp_path)
    config = files["config.c"].splitlines()
    assert all(line in config for line in lines), [line for line in lines if line not in config]
    assert f"TRUSTZONE_DRIVER := {driver}" in files["config.mk"].splitlines()
