"""Board devices and their passthrough to HRT VMs, as the tooling validates and generates them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from scenario_tree import (
    BOARD_FILE,
    SCENARIO_FILE,
    board_error,
    board_with,
    scenario_error,
    vm,
    write_board,
    write_scenario,
)

from lab.firmware.codegen import render
from lab.firmware.loader import load_board, load_scenario

SPARE = {"spare": {"base": 0x1000A000, "size": "4K"}, "other": {"base": 0x1000B000, "size": "4K"}}


def hrt(name: str = "h", **extra: Any) -> dict[str, Any]:
    return vm(name, level="HRT", cores=[1], **extra)


@pytest.fixture
def with_devices(tree: Path) -> Path:
    write_board(tree, board_with(devices=SPARE))
    return tree


@pytest.mark.parametrize(
    ("devices", "message"),
    [
        ({"spare": {"base": 0x10009000, "size": "4K"}},
         "devices.spare: region 0x10009000-0x10009fff overlaps the console"),
        ({"spare": {"base": 0x1000A800, "size": "4K"}},
         "devices.spare.base: 0x1000a800 is not aligned to 4 KiB"),
        ({"spare": {"base": 0x1000A000, "size": "6K"}}, "devices.spare.size"),
        ({"spare": {"base": 0x60100000, "size": "4K"}}, "overlaps RAM"),
        ({"spare": {"base": 0x1E000000, "size": "4K"}}, "overlaps the private region"),
        ({"spare": {"base": 0x100FF000, "size": "8K"}}, "crosses a 1 MiB boundary"),
        ({"a": {"base": 0x1000A000, "size": "8K"}, "b": {"base": 0x1000B000, "size": "4K"}},
         "devices.b: region 0x1000b000-0x1000bfff overlaps device 'a'"),
        ({"spare": {"base": 0x1000A000}}, "devices.spare.size: required key missing"),
    ],
)
def test_rejected_devices(tree: Path, devices: dict[str, Any], message: str) -> None:
    write_board(tree, board_with(devices=devices))
    error = board_error(tree)
    assert error.startswith(f"{BOARD_FILE}: ") and message in error, error


@pytest.mark.parametrize(
    ("vms", "message"),
    [
        ([hrt(devices=["nope"])],
         "vms[0].devices[0]: board 'b' has no device 'nope' (devices: other, spare)"),
        ([vm("n", devices=["spare"])],
         "vms[0].devices[0]: device 'spare': only HRT VMs are given devices to touch directly, "
         "VM 'n' is NRT (its I/O goes through OVM)"),
        ([hrt(devices=["spare", "spare"])], "vms[0].devices[1]: device 'spare' is listed twice"),
        ([hrt("h", devices=["spare"]), vm("g", level="HRT", cores=[0], devices=["spare"])],
         "vms[1].devices[0]: device 'spare' is passed through to VM 'h' already; a device has "
         "one owner"),
        ([hrt(args=[{"device": "nope"}])],
         "vms[0].args[0].device: board 'b' has no device 'nope' (devices: other, spare)"),
    ],
)
def test_rejected_device_use(with_devices: Path, vms: list[Any], message: str) -> None:
    assert scenario_error(with_devices, vms) == f"{SCENARIO_FILE}: {message}"


def test_passthrough_reaches_the_generated_c_and_args_name_a_device(with_devices: Path) -> None:
    write_scenario(with_devices, {"description": "d", "vms": [
        hrt(devices=["spare", "other"], args=[{"device": "other"}, 0x34]), vm("n")]})
    board = load_board(with_devices, "b")
    scenario = load_scenario(with_devices, "s", board)
    assert scenario.vms[0].args == (0x1000B000, 0x34)
    config_c = render(board, scenario, guest_bins={v.name: Path(f"/x/{v.name}.bin")
                                                   for v in scenario.vms},
                      build_id="0123456789ab")["config.c"]
    assert ("static const struct device_map devices_h[] = "
            "{ { 0x1000a000, 0x00001000 }, { 0x1000b000, 0x00001000 } };") in config_c
    assert "\t\t.devices = devices_h,\n\t\t.device_count = 2," in config_c
    assert "\t\t.devices = NULL,\n\t\t.device_count = 0," in config_c
