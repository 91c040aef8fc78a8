"""Loading and validating board and scenario files (lab.firmware.loader)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scenario_tree import (
    BOARD_FILE,
    DELETE,
    SCENARIO_FILE,
    board_error,
    board_with,
    placed,
    scenario_error,
    scenario_file_error,
    vm,
    write_board,
    write_scenario,
)

from lab.firmware.errors import ConfigError
from lab.firmware.loader import (
    available_boards,
    available_guests,
    available_scenarios,
    load_board,
    load_scenario,
)
from lab.firmware.memory_plan import VmRequest, place
from lab.firmware.model import MIB, Board, Console, ConsoleDriver, Level, Region
from lab.firmware.yaml_checks import At, parse_size

REPO_OVM = Path(__file__).resolve().parents[2] / "ovm"


# --- the real files ---------------------------------------------------------


def test_real_boards_and_scenarios_are_listed() -> None:
    assert available_boards(REPO_OVM) == ["qemu-vexpress-a9", "zc702"]
    assert "default" in available_scenarios(REPO_OVM)
    assert "lib" not in available_guests(REPO_OVM)


def test_qemu_board() -> None:
    board = load_board(REPO_OVM, "qemu-vexpress-a9")
    assert board.cores == 2
    assert board.ram == Region(0x60000000, 256 * MIB)
    assert board.ovm == Region(0x60000000, 16 * MIB)
    assert board.periph_base == 0x1E000000
    assert board.gic_lines == 96
    assert board.private_timer_hz == 100_000_000
    assert board.console == Console(ConsoleDriver.PL011, 0x10009000, 24_000_000, 115200)
    assert board.secondary_release is None


def test_zc702_board() -> None:
    board = load_board(REPO_OVM, "zc702")
    assert board.cores == 2
    assert board.ram == Region(0, 1 << 30)
    assert board.ovm == Region(0x10000000, 16 * MIB)
    assert board.periph_base == 0xF8F00000
    assert board.private_timer_hz == 333_333_333
    assert board.console == Console(ConsoleDriver.CADENCE_UART, 0xE0001000, 100_000_000, 115200)
    assert board.secondary_release == 0xFFFFFFF0


@pytest.mark.parametrize(
    ("board_name", "bases"),
    # On the ZC702 the VMs follow OVM's non-secure area, past its secure 64 MiB granule.
    [("qemu-vexpress-a9", [0x61100000, 0x61200000]), ("zc702", [0x14100000, 0x14200000])],
)
def test_default_scenario_on_each_board(board_name: str, bases: list[int]) -> None:
    scenario = load_scenario(REPO_OVM, "default", load_board(REPO_OVM, board_name))
    assert [v.name for v in scenario.vms] == ["hello0", "hello1"]
    assert [v.guest for v in scenario.vms] == ["hello", "hello"]
    assert [v.level for v in scenario.vms] == [Level.NRT, Level.NRT]
    assert [v.core_mask for v in scenario.vms] == [0b01, 0b10]
    assert [v.mem_base for v in scenario.vms] == bases
    assert [v.memory.size for v in scenario.vms] == [MIB, MIB]


# --- placement ----------------------------------------------------------------


def test_vms_are_placed_after_ovms_non_secure_area_on_1mib_boundaries(tree: Path) -> None:
    assert placed(tree, [vm("a"), vm("b", "3M"), vm("c")]) == [
        "0x61100000-0x611fffff",
        "0x61200000-0x614fffff",
        "0x61500000-0x615fffff",
    ]


def test_sizes_multiple_of_16mib_get_16mib_alignment(tree: Path) -> None:
    # c fills the gap that b's alignment left after a.
    assert placed(tree, [vm("a"), vm("b", "32M"), vm("c")]) == [
        "0x61100000-0x611fffff",
        "0x62000000-0x63ffffff",
        "0x61200000-0x612fffff",
    ]


def test_explicit_offsets_are_kept_and_avoided(tree: Path) -> None:
    fixed = vm("a", "2M", memory={"size": "2M", "offset": "17M"})
    assert placed(tree, [vm("b"), fixed]) == ["0x61300000-0x613fffff", "0x61100000-0x612fffff"]


def test_placement_reports_when_alignment_leaves_no_room(tree: Path) -> None:
    fixed = vm("a", memory={"size": "1M", "offset": "128M"})
    assert scenario_error(tree, [fixed, vm("b", "224M")]) == (
        f"{SCENARIO_FILE}: vms[1].memory: no free 16 MiB-aligned range of 224 MiB left in RAM "
        "(0x60000000-0x6fffffff) above OVM's non-secure area (0x61000000-0x610fffff)"
    )


_TEST_BOARD = Board(
    name="b", description="", cpu="cortex-a9", cores=2, ram=Region(0x60000000, 256 * MIB),
    ovm=Region(0x60000000, 16 * MIB), periph_base=0x1E000000, gic_lines=96,
    private_timer_hz=1, console=Console(ConsoleDriver.PL011, 0, 1, 1), secondary_release=None,
)


@given(st.lists(st.sampled_from([1, 2, 3, 16, 32]), min_size=1, max_size=8))
def test_automatic_placement_is_disjoint_aligned_and_inside_ram(sizes_mib: list[int]) -> None:
    requests = [
        VmRequest(f"v{i}", "hello", Level.NRT, (0,), size * MIB, None, At(Path("s.yaml")).item(i))
        for i, size in enumerate(sizes_mib)
    ]
    try:
        vms = place(requests, _TEST_BOARD, At(Path("s.yaml"), "vms"))
    except ConfigError:
        assert sum(sizes_mib) > 239 or any(size % 16 == 0 for size in sizes_mib)
        return
    for index, placed_vm in enumerate(vms):
        region = placed_vm.memory
        assert _TEST_BOARD.ram.contains(region)
        assert not region.overlaps(_TEST_BOARD.ovm)
        assert not region.overlaps(_TEST_BOARD.ovm_ns)
        alignment = 16 * MIB if region.size % (16 * MIB) == 0 else MIB
        assert region.base % alignment == 0
        assert all(not region.overlaps(other.memory) for other in vms[index + 1 :])


@pytest.mark.parametrize(
    ("text", "expected"),
    [(0x1000, 0x1000), ("4096", 4096), ("256M", 256 * MIB), ("1G", 1 << 30), ("4K", 4096),
     ("0x10M", 16 * MIB), ("256X", None), ("M", None), (True, None), (1.5, None)],
)
def test_parse_size(text: object, expected: int | None) -> None:
    assert parse_size(text) == expected


# --- rejected board files ------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (board_with(console__driver="pl012"),
         "console.driver: 'pl012' is not one of: cadence-uart, pl011"),
        (board_with(gic_lines=DELETE), "gic_lines: required key missing"),
        (board_with(gic_line=96),
         "gic_line: unknown key (allowed: console, cores, cpu, description, devices, gic_lines, "
         "linux, name, ovm, periph_base, private_timer_hz, ram, secondary_release, trustzone)"),
        (board_with(console__bauds=9600),
         "console.bauds: unknown key (allowed: base, baud, clock_hz, driver)"),
        (board_with(ram__size="256X"),
         "ram.size: '256X' is not a size: use an integer or a string like '256M' "
         "(suffix K, M or G)"),
        (board_with(cores=5), "cores: 5 is out of range 1..4"),
        (board_with(cores=0), "cores: 0 is out of range 1..4"),
        (board_with(cores="two"), "cores: expected an integer, got 'two'"),
        (board_with(cores=True), "cores: expected an integer, got True"),
        (board_with(name="c"), "name: 'c' does not match the directory name 'b'"),
        (board_with(cpu="cortex-a15"), "cpu: 'cortex-a15' is not one of: cortex-a9"),
        (board_with(gic_lines=100), "gic_lines: 100 is not a multiple of 32"),
        (board_with(gic_lines=1024), "gic_lines: 1024 is out of range 32..1020"),
        (board_with(console__clock_hz="24M"), "console.clock_hz: expected an integer, got '24M'"),
        (board_with(ram__base=0x60080000), "ram.base: 0x60080000 is not aligned to 1 MiB"),
        (board_with(ram__size="0"), "ram.size: '0' must be greater than 0"),
        (board_with(ram__base=0xF8000000),
         "ram: region 0xf8000000 + 0x10000000 exceeds the 32-bit address space"),
        (board_with(ovm__offset="256M"),
         "ovm: region 0x70000000-0x70ffffff lies outside RAM (0x60000000-0x6fffffff)"),
        (board_with(ovm__size="1536K"), "ovm.size: 0x180000 is not a multiple of 1 MiB"),
        (board_with(periph_base=0x1E001000), "periph_base: 0x1e001000 is not aligned to 8 KiB"),
        (board_with(periph_base=-1), "periph_base: -0x1 is not a 32-bit address"),
        (board_with(secondary_release="0xFFFFFFF0"),
         "secondary_release: expected an address (integer), got '0xFFFFFFF0'"),
        (board_with(ram=[0x60000000]), "ram: expected a mapping, got a list"),
    ],
)
def test_rejected_board(tree: Path, doc: dict[str, Any], message: str) -> None:
    write_board(tree, doc)
    assert board_error(tree) == f"{BOARD_FILE}: {message}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: b\ncores: [1, 2\n",
         "invalid YAML: line 3, column 1: expected ',' or ']', but got '<stream end>'"),
        ("name: b\n  cores: 2\n",
         "invalid YAML: line 2, column 8: mapping values are not allowed here"),
        ("name: b\nname: c\n", "invalid YAML: line 2, column 1: duplicate key 'name'"),
        ("", "file is empty"),
        ("- b\n", "expected a mapping, got a list"),
    ],
)
def test_rejected_board_text(tree: Path, text: str, message: str) -> None:
    write_board(tree, text)
    assert board_error(tree) == f"{BOARD_FILE}: {message}"


def test_board_directory_without_file(tree: Path) -> None:
    (tree / "board" / "b" / "board.yaml").unlink()
    assert board_error(tree) == f"{BOARD_FILE}: file not found"


def test_unknown_board_lists_the_available_ones(tree: Path) -> None:
    (tree / "board" / "c").mkdir()
    with pytest.raises(ConfigError) as caught:
        load_board(tree, "zc703")
    assert str(caught.value) == (
        "ovm/board/zc703/board.yaml: unknown board 'zc703' (available: b, c)"
    )


def test_hex_and_suffix_integers_are_accepted(tree: Path) -> None:
    write_board(tree, "\n".join([
        "name: b", "description: d", "cpu: cortex-a9", "cores: 1",
        "ram: {base: 0x60000000, size: 0x10000000}", "ovm: {offset: 1M, size: '16M'}",
        "periph_base: 0x1E000000", "gic_lines: 64", "private_timer_hz: 1000",
        "console: {driver: cadence-uart, base: 0xE0001000, clock_hz: 100, baud: 9}",
        "secondary_release: 0xFFFFFFF0",
    ]))
    board = load_board(tree, "b")
    assert board.ovm == Region(0x60100000, 16 * MIB)
    assert board.secondary_release == 0xFFFFFFF0


# --- rejected scenario files -------------------------------------------------


@pytest.mark.parametrize(
    ("vms", "message"),
    [
        ([vm("a", memory={"size": "2M", "offset": "17M"}),
          vm("b", memory={"size": "1M", "offset": "18M"})],
         "vms[1].memory: region 0x61200000-0x612fffff overlaps VM 'a' (0x61100000-0x612fffff)"),
        ([vm("a", memory={"size": "2M", "offset": "16M"})],
         "vms[0].memory: region 0x61000000-0x611fffff overlaps OVM's non-secure area "
         "(0x61000000-0x610fffff)"),
        ([vm("a", memory={"size": "2M", "offset": "15M"})],
         "vms[0].memory: region 0x60f00000-0x610fffff overlaps OVM's region "
         "(0x60000000-0x60ffffff)"),
        ([vm("a", memory={"size": "2M", "offset": "255M"})],
         "vms[0].memory: region 0x6ff00000-0x700fffff lies outside RAM (0x60000000-0x6fffffff)"),
        ([vm("a", guest="nope")],
         "vms[0].guest: unknown guest 'nope': no directory ovm/guests/nope (available: hello)"),
        ([vm("a", guest="lib")],
         "vms[0].guest: unknown guest 'lib': no directory ovm/guests/lib (available: hello)"),
        ([vm("a"), vm("a")], "vms[1].name: duplicate VM name 'a' (also vms[0])"),
        ([{**vm("a"), "mem": {"size": "1M"}}],
         "vms[0].mem: unknown key (allowed: args, cores, devices, fpu, guest, host, io, irqs, "
         "level, linux, memory, name, privilege, realtime)"),
        ([vm("a", args=[1, 2, 3])], "vms[0].args: at most 2 arguments (r2, r3), got 3"),
        ([vm("a", args=[-1])], "vms[0].args[0]: -1 is out of range 0..4294967295"),
        ([vm("a", memory={"size": "1M", "ofset": 0})],
         "vms[0].memory.ofset: unknown key (allowed: offset, size)"),
        ([vm("a", "128M"), vm("b", "128M")],
         "vms: the VMs need 256 MiB of memory, but only 239 MiB of RAM is free outside "
         "OVM's region and non-secure area"),
        ([vm("a", level="XRT")], "vms[0].level: 'XRT' is not one of: HRT, NRT, SRT"),
        ([vm("a", cores=[2])], "vms[0].cores[0]: core 2 does not exist: board 'b' has cores 0..1"),
        ([vm("a", cores=[])], "vms[0].cores: at least one core is required"),
        ([vm("a", cores=[1, 1])], "vms[0].cores[1]: core 1 is listed twice"),
        ([vm("a", "1536K")], "vms[0].memory.size: 0x180000 is not a multiple of 1 MiB"),
        ([vm("a", "1536K", level="HRT")],
         "vms[0].memory.size: 0x180000 is not a multiple of 1 MiB"),
        ([vm("a", "0")], "vms[0].memory.size: '0' must be greater than 0"),
        ([vm("a", memory={"size": "1M", "offset": 0x1080000})],
         "vms[0].memory.offset: 0x1080000 is not aligned to 1 MiB"),
        ([vm("Hello")],
         "vms[0].name: 'Hello' is not a valid VM name (lower-case letter, then up to 15 of "
         "a-z, 0-9, _)"),
        ([vm("a_very_long_name_x")],
         "vms[0].name: 'a_very_long_name_x' is not a valid VM name (lower-case letter, then up "
         "to 15 of a-z, 0-9, _)"),
        ([vm("a", irqs=[27])],
         "vms[0].irqs[0]: interrupt 27 is OVM's event timer (the global timer's comparator: its "
         "tick and timer events): it cannot be routed to a VM"),
        ([vm("a", irqs=[8])], "vms[0].irqs[0]: interrupt 8 is OVM's kick between cores: it "
                              "cannot be routed to a VM"),
        ([vm("a", irqs=[3])],
         "vms[0].irqs[0]: interrupt 3 is an SGI (0..15), which cannot be routed"),
        ([vm("a", privilege="kernel")],
         "vms[0].privilege: only an HRT VM may run in supervisor mode (privilege: kernel), which "
         "trusts it with all non-secure memory; this VM is 'NRT'"),
        ([], "vms: at least one VM is required"),
        ([vm(f"v{i}") for i in range(9)], "vms: 9 VMs given, at most 8 are supported"),
        ({"name": "a"}, "vms: expected a list, got a mapping"),
    ],
)
def test_rejected_scenario(tree: Path, vms: Any, message: str) -> None:
    assert scenario_error(tree, vms) == f"{SCENARIO_FILE}: {message}"


def test_scenario_unknown_top_level_key(tree: Path) -> None:
    assert scenario_file_error(tree, {"description": "d", "vms": [vm()], "vm": []}) == (
        f"{SCENARIO_FILE}: vm: unknown key (allowed: console, description, runtime, scheduler, "
        "vms)"
    )


def test_scenario_invalid_yaml(tree: Path) -> None:
    assert scenario_file_error(tree, "vms:\n- name: a\n guest: hello\n") == (
        f"{SCENARIO_FILE}: invalid YAML: line 3, column 2: expected <block end>, but found "
        "'<block mapping start>'"
    )


def test_unknown_scenario_lists_the_available_ones(tree: Path) -> None:
    write_scenario(tree, {"description": "d", "vms": [vm()]})
    with pytest.raises(ConfigError) as caught:
        load_scenario(tree, "nope", load_board(tree, "b"))
    assert str(caught.value) == "ovm/scenarios/nope.yaml: unknown scenario 'nope' (available: s)"


def test_an_absurd_value_is_quoted_shortened(tree: Path) -> None:
    """A 10 MB name: the error names the field and quotes the start of the value only."""
    huge = "x" * (10 << 20)
    message = scenario_error(tree, [vm(huge)])
    assert message.startswith(f"{SCENARIO_FILE}: vms[0].name: 'xxxx")
    assert "characters) is not a valid VM name" in message
    assert len(message) < 300


def test_an_integer_too_long_to_print_is_refused_shortened(tree: Path) -> None:
    digits = "9" * 5000
    message = scenario_file_error(tree, "description: test\nvms:\n  - {name: a, guest: hello, "
                                        f"level: NRT, cores: [0], memory: {{size: 1M}}, args: [{digits}]}}\n")
    assert message.startswith(f"{SCENARIO_FILE}: invalid YAML: line 3, column ")
    assert "characters) is too long to be a number" in message and len(message) < 300
