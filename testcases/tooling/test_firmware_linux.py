"""A Linux VM in a scenario: its `linux:` block, the device tree derived from the
board's, the parts' places in the region, and what the tooling refuses, naming the
file and the reason."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import fdt
import pytest
from scenario_tree import BOARD, write_board, write_scenario

from lab.firmware.codegen import render
from lab.firmware.devicetree import DeviceTreeError, VmTree, derive
from lab.firmware.errors import ConfigError
from lab.firmware.linux_vm import KERNEL_OFFSET, prepare
from lab.firmware.loader import load_board, load_scenario
from lab.firmware.model import Region
from lab.firmware.yaml_checks import At

REPO = Path(__file__).resolve().parents[2]
LINUX = REPO / "build" / "linux-armhf"
DEBIAN_DTB = LINUX / "vexpress-v2p-ca9.dtb"
ZIMAGES = sorted(LINUX.glob("vmlinuz-*"))
needs_debian = pytest.mark.skipif(not (DEBIAN_DTB.is_file() and ZIMAGES),
                                  reason="Debian's armhf kernel and DTB: run env/setup.sh")


def linux_vm(files: dict[str, Path], **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": "linux", "level": "NRT", "cores": [0], "memory": {"size": "128M", "offset": "128M"},
        "linux": {"kernel": str(files["kernel"]), "initramfs": str(files["initramfs"]),
                  "dtb": str(files["dtb"]), "cmdline": "console=ttyAMA1 quiet"},
        "irqs": [34, 35, 38],
    }
    entry.update(extra)
    return entry


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A 'zImage' (OVM loads it as it is), a device tree, an initramfs."""
    kernel = tmp_path / "zImage"
    kernel.write_bytes(b"\x00" * 64 + gzip.compress(b"\xaa" * 4096 * 64))
    dtb = tmp_path / "board.dtb"
    dtb.write_bytes(DEBIAN_DTB.read_bytes() if DEBIAN_DTB.is_file() else b"")
    initramfs = tmp_path / "initramfs.cpio.gz"
    initramfs.write_bytes(gzip.compress(b"070701" + b"0" * 200))
    return {"kernel": kernel, "dtb": dtb, "initramfs": initramfs}


@pytest.fixture
def linux_board(tree: Path) -> Path:
    write_board(tree, {**BOARD, "linux": {"dtb": "board.dtb", "machine_id": 2272}})
    return tree


def load(tree: Path):
    board = load_board(tree, "b")
    return board, load_scenario(tree, "s", board)


def refused(tree: Path) -> str:
    with pytest.raises(ConfigError) as error:
        load(tree)
    return str(error.value)


@needs_debian
def test_derived_tree_keeps_the_vms_memory_core_and_devices() -> None:
    vm = VmTree(memory=Region(0x68000000, 128 << 20), core=0, irqs=frozenset({34, 35, 38}),
                bootargs="console=ttyAMA1", initrd=Region(0x6a000000, 0x1000),
                periph_base=0x1E000000, blob=Region(0x69f00000, 0x8000))
    blob, report = derive(DEBIAN_DTB.read_bytes(), "vexpress", vm)
    tree = fdt.parse_dtb(blob)
    assert list(tree.get_property("reg", "/memory@60000000").data) == [0x68000000, 128 << 20]
    assert [n.name for n in tree.get_node("/cpus").nodes] == ["cpu@0"]
    status = {path: node.get_property("status") for path, node in
              ((p, tree.get_node(p)) for p, _, _ in tree.walk())}
    iofpga = "/bus@40000000/motherboard-bus@40000000/iofpga@7,00000000"
    # OVM's console, its watchdog and timers, the SCU: never Linux's.
    for path in (f"{iofpga}/uart@9000", "/watchdog@1e000620", "/timer@1e000600", "/scu@1e000000",
                 "/cache-controller@1e00a000"):
        assert status[path] is not None and status[path].value == "disabled", path
    for path in (f"{iofpga}/uart@a000", f"{iofpga}/timer@11000", f"{iofpga}/timer@12000"):
        assert status[path] is None, path
    assert f"{iofpga}/uart@a000" in report.kept
    assert tree.get_property("bootargs", "/chosen").value == "console=ttyAMA1"
    assert tree.get_property("linux,initrd-end", "/chosen").value == 0x6a001000
    assert not tree.exist_node("/reserved-memory/vram@4c000000")
    # The tree's own place is reserved, as a boot loader would.
    assert tree.entries == [{"address": 0x69f00000, "size": 0x8000}]


def test_a_tree_that_is_no_tree_is_refused() -> None:
    vm = VmTree(Region(0, 1 << 20), 0, frozenset(), "", Region(0, 0), 0, Region(0, 0))
    with pytest.raises(DeviceTreeError, match="junk.dtb: not a device tree blob"):
        derive(b"\xd0\x0d\xfe\xed garbage", "junk.dtb", vm)


def test_a_missing_kernel_is_named(linux_board: Path, files: dict[str, Path]) -> None:
    files["kernel"].unlink()
    write_scenario(linux_board, {"description": "d", "vms": [linux_vm(files)]})
    message = refused(linux_board)
    assert "vms[0].linux.kernel" in message and "zImage is not there" in message


@needs_debian
def test_an_unparsable_device_tree_is_refused(linux_board: Path, files: dict[str, Path],
                                              tmp_path: Path) -> None:
    files["dtb"].write_bytes(b"\x00" * 100)
    write_scenario(linux_board, {"description": "d", "vms": [linux_vm(files)]})
    board, scenario = load(linux_board)
    with pytest.raises(ConfigError, match=r"vms\[0\]\.linux\.dtb: .*board\.dtb: not a device tree"):
        prepare(scenario.vms[0], board, tmp_path / "out", At(linux_board / "scenarios" / "s.yaml")
                .field("vms").item(0), files["initramfs"])


@needs_debian
def test_a_region_too_small_is_refused(linux_board: Path, files: dict[str, Path],
                                       tmp_path: Path) -> None:
    with files["kernel"].open("r+b") as kernel:
        kernel.truncate(100 << 20)
    write_scenario(linux_board, {"description": "d", "vms": [linux_vm(files)]})
    board, scenario = load(linux_board)
    with pytest.raises(ConfigError, match=r"vms\[0\]\.memory: 128 MiB is too small for kernel "
                                          r"and initramfs.*at least"):
        prepare(scenario.vms[0], board, tmp_path / "out", At(linux_board / "scenarios" / "s.yaml")
                .field("vms").item(0), files["initramfs"])


@needs_debian
def test_the_parts_are_staged_above_where_they_go(linux_board: Path, files: dict[str, Path],
                                                  tmp_path: Path) -> None:
    write_scenario(linux_board, {"description": "d", "vms": [linux_vm(files)]})
    board, scenario = load(linux_board)
    vm = scenario.vms[0]
    image = prepare(vm, board, tmp_path / "out", At(linux_board), files["initramfs"])
    assert image.kernel_offset == KERNEL_OFFSET
    assert image.dtb_offset < image.initramfs_offset
    assert vm.mem_base + image.initramfs_offset + files["initramfs"].stat().st_size < image.staging
    assert image.staging < vm.memory.end
    generated = render(board, scenario, guest_bins={}, build_id="0" * 12,
                       linux_images={vm.name: image})
    assert f".entry = 0x{vm.mem_base + KERNEL_OFFSET:08x}" in generated["config.c"]
    assert ".linux = &linux_linux," in generated["config.c"]
    assert ".machine_id = 2272," in generated["config.c"]
    assert f"#define LINUX_STAGING 0x{image.staging:08x}" in generated["config_defs.h"]
    assert generated["guest_images.S"].count('.section .linux_images,"a"') == 3


def test_linux_on_an_hrt_core_is_refused(linux_board: Path, files: dict[str, Path]) -> None:
    hrt = {"name": "hrt", "guest": "hello", "level": "HRT", "cores": [0], "memory": {"size": "1M"}}
    write_scenario(linux_board, {"description": "d", "vms": [hrt, linux_vm(files)]})
    message = refused(linux_board)
    assert "vms[1].cores: core 0 is occupied by HRT VM 'hrt'" in message


@pytest.mark.parametrize(("change", "expected"), [
    ({"level": "SRT"}, "vms[0].level: a Linux VM is the NRT VM"),
    ({"privilege": "user"}, "vms[0].privilege: a Linux VM runs its kernel in supervisor mode"),
    ({"fpu": False}, "vms[0].fpu: a Linux VM uses VFP/NEON"),
    ({"cores": [0, 1]}, "vms[0].cores: a Linux VM runs on one core"),
    ({"memory": {"size": "64M", "offset": "32M"}}, "must start on a 128 MiB boundary"),
    ({"guest": "hello"}, "vms[0]: a VM runs either a guest program"),
    ({"irqs": [27]}, "interrupt 27 is OVM's event timer"),
])
def test_linux_vm_mistakes_are_refused(linux_board: Path, files: dict[str, Path],
                                       change: dict[str, Any], expected: str) -> None:
    write_scenario(linux_board, {"description": "d", "vms": [linux_vm(files, **change)]})
    assert expected in refused(linux_board)


def test_a_second_linux_vm_is_refused(linux_board: Path, files: dict[str, Path]) -> None:
    second = linux_vm(files, name="other", cores=[1], memory={"size": "64M", "offset": "0x8000000"})
    second["memory"] = {"size": "64M", "offset": "64M"}
    write_scenario(linux_board, {"description": "d", "vms": [
        linux_vm(files, memory={"size": "64M", "offset": "128M"}), second]})
    message = refused(linux_board)
    assert "a second Linux VM" in message or "128 MiB boundary" in message


def test_a_board_without_linux_entry_cannot_run_one(tree: Path, files: dict[str, Path]) -> None:
    write_scenario(tree, {"description": "d", "vms": [linux_vm(files)]})
    assert "board 'b' has no `linux:` entry" in refused(tree)


def test_a_linux_host_needs_the_boards_doorbell(linux_board: Path, files: dict[str, Path]) -> None:
    write_scenario(linux_board, {"description": "d", "vms": [linux_vm(files, host=True)]})
    assert "vms[0].host: board 'b' names no doorbell_irq" in refused(linux_board)


@pytest.fixture
def doorbell_board(tree: Path) -> Path:
    write_board(tree, {**BOARD, "linux": {"dtb": "board.dtb", "machine_id": 2272,
                                          "doorbell_irq": 90}})
    return tree


def test_a_linux_host_gets_the_doorbell_routed(doorbell_board: Path, files: dict[str, Path]
                                               ) -> None:
    write_scenario(doorbell_board, {"description": "d", "vms": [linux_vm(files, host=True)]})
    _, scenario = load(doorbell_board)
    (vm,) = scenario.vms
    assert vm.linux is not None and vm.linux.doorbell_irq == 90
    assert [irq.irq for irq in vm.irqs] == [34, 35, 38, 90]
    # Not the host: no doorbell.
    write_scenario(doorbell_board, {"description": "d", "vms": [linux_vm(files)]})
    (plain,) = load(doorbell_board)[1].vms
    assert plain.linux is not None and plain.linux.doorbell_irq is None
    assert 90 not in [irq.irq for irq in plain.irqs]


@pytest.mark.parametrize(("linux", "expected"), [
    ({"doorbell_irq": 20}, "doorbell_irq"),
    ({"doorbell_irq": 96}, "doorbell_irq"),
])
def test_a_bad_doorbell_line_is_refused(tree: Path, linux: dict[str, Any], expected: str) -> None:
    write_board(tree, {**BOARD, "linux": {"dtb": "board.dtb", "machine_id": 2272, **linux}})
    with pytest.raises(ConfigError, match=expected):
        load_board(tree, "b")


def test_the_doorbell_cannot_be_listed_too(doorbell_board: Path, files: dict[str, Path]) -> None:
    write_scenario(doorbell_board, {"description": "d", "vms": [
        linux_vm(files, host=True, irqs=[34, 35, 38, 90])]})
    assert "interrupt 90 is the board's doorbell_irq" in refused(doorbell_board)


@needs_debian
def test_the_hosts_tree_declares_the_doorbell_for_the_module() -> None:
    vm = VmTree(memory=Region(0x68000000, 128 << 20), core=0, irqs=frozenset({34, 35, 38, 90}),
                bootargs="console=ttyAMA1", initrd=Region(0x6a000000, 0x1000), periph_base=0x1E000000,
                blob=Region(0x69f00000, 0x8000), doorbell=90)
    tree = fdt.parse_dtb(derive(DEBIAN_DTB.read_bytes(), "vexpress", vm)[0])
    node = tree.get_node("/ovm")
    assert node.get_property("compatible").value == "ovm,doorbell"
    # SPI 58 (line 90), rising edge, against the GIC.
    assert list(node.get_property("interrupts").data) == [0, 58, 1]
    gic = tree.get_node("/interrupt-controller@1e001000")
    assert node.get_property("interrupt-parent").value == gic.get_property("phandle").value
    without = fdt.parse_dtb(derive(DEBIAN_DTB.read_bytes(), "vexpress",
                                   VmTree(**{**vm.__dict__, "doorbell": None}))[0])
    assert not without.exist_node("/ovm")
