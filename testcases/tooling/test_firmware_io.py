"""Virtual devices (`io`), the console's sharing (`console`) and run-time images (`runtime`)
as lab.firmware validates, places, generates and builds them; and the requests of VMs the
host registers at run time (lab.firmware.runtime)."""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from elftools.elf.elffile import ELFFile
from fake_make import FakeMake, compile_tiny_elf
from scenario_tree import SCENARIO_FILE, scenario_error, vm, write_scenario

from lab.firmware.build import build
from lab.firmware.codegen import render, write_changed
from lab.firmware.errors import ConfigError
from lab.firmware.io import IO_DEVICES, grant_mask
from lab.firmware.limits import CONFIG_H, CONSOLE_QUEUE, HYPERCALL_H, MAX_VMS, c_define
from lab.firmware.loader import load_board, load_scenario
from lab.firmware.model import (
    MIB,
    Board,
    ConsoleConfig,
    Level,
    Region,
    RuntimeImage,
    Scenario,
)
from lab.firmware.runtime import RuntimeRequest, runtime_request

REPO = Path(__file__).resolve().parents[2]
OVM = REPO / "ovm"
GCC = "arm-none-eabi-gcc"


def srt(name: str = "s", **extra: Any) -> dict[str, Any]:
    return vm(name, level="SRT", cores=[1], **extra)


def hrt(name: str = "h", **extra: Any) -> dict[str, Any]:
    return vm(name, level="HRT", cores=[1], **extra)


def host(name: str = "host", **extra: Any) -> dict[str, Any]:
    return vm(name, host=True, **extra)


def image(guest: str = "hello", size: str = "4M", **memory: Any) -> dict[str, Any]:
    return {"guest": guest, "memory": {"size": size, **memory}}


def load(root: Path, vms: list[dict[str, Any]], **top_level: Any) -> Scenario:
    write_scenario(root, {"description": "test", "vms": vms, **top_level})
    return load_scenario(root, "s", load_board(root, "b"))


@pytest.fixture
def guests(tree: Path) -> Path:
    """The tree with a second guest program, 'probe'."""
    (tree / "guests" / "probe").mkdir()
    return tree


# --- the C side's values -------------------------------------------------------


def test_grant_bits_and_levels_are_the_c_headers() -> None:
    text = HYPERCALL_H.read_text(encoding="utf-8")
    in_c = re.findall(r"^#define OVM_IO_GRANT_(\w+) ", text, re.MULTILINE)
    assert sorted(name.lower() for name in in_c) == sorted(IO_DEVICES)
    assert {name: device.grant for name, device in IO_DEVICES.items()} == {
        "console": 0x1, "timer": 0x2, "hostdev": 0x4, "ptimer": 0x8, "watchdog": 0x10,
    }
    assert grant_mask(["timer", "hostdev"]) == 0x6
    assert grant_mask([]) == 0
    levels = dict(re.findall(r"LEVEL_(\w+) = (\d+),", CONFIG_H.read_text(encoding="utf-8")))
    assert {level.value: str(level.number) for level in Level} == levels
    assert CONSOLE_QUEUE == c_define(CONFIG_H, "OVM_CONSOLE_QUEUE") == 1024


# --- io ------------------------------------------------------------------------


def test_io_grants_are_kept(tree: Path) -> None:
    scenario = load(tree, [host(io=["console", "timer"]), srt(io=["timer"]),
                           vm("n", cores=[1], io=["hostdev"]), vm("plain", cores=[1])])
    assert [v.io for v in scenario.vms] == [("console", "timer"), ("timer",), ("hostdev",), ()]


@pytest.mark.parametrize(
    ("vms", "message"),
    [
        ([srt(io=["disk"])],
         "vms[0].io[0]: unknown device 'disk' for VM 's' (devices: console, timer, hostdev, "
         "ptimer, watchdog)"),
        ([srt(io=["timer", "timer"])], "vms[0].io[1]: device 'timer' is listed twice for VM 's'"),
        ([hrt(io=["console"])],
         "vms[0].io[0]: device 'console': VM 'h' is HRT, whose I/O is passthrough (`devices`) "
         "but for its core's timers: it may have only ptimer, watchdog"),
        ([srt(io=["console", "hostdev"])],
         "vms[0].io[1]: device 'hostdev': VM 's' is SRT, whose I/O OVM serves: it may have "
         "only console, timer, ptimer, watchdog"),
        ([vm("n", io=["timer"])],
         "vms[0].io[0]: device 'timer': VM 'n' is NRT and not the host, so its I/O goes to the "
         "host: it may have only hostdev, ptimer, watchdog"),
        ([host(io=["hostdev"])],
         "vms[0].io[0]: device 'hostdev': VM 'host' is the host, which emulates the other NRT "
         "VMs' devices: it may have only console, timer, ptimer, watchdog"),
        ([srt(io="console")], "vms[0].io: expected a list, got 'console'"),
        ([vm("n", io=["hostdev"])],
         "vms[0].io: VM 'n' is given hostdev, which the host emulates, but no VM is the host "
         "(host: true): its accesses would wait for ever"),
    ],
)
def test_rejected_io(tree: Path, vms: list[Any], message: str) -> None:
    assert scenario_error(tree, vms) == f"{SCENARIO_FILE}: {message}"


# --- console -------------------------------------------------------------------


def test_console_sharing_defaults_and_values(tree: Path) -> None:
    assert load(tree, [vm()]).console == ConsoleConfig(round_us=1000, bytes_per_round=64)
    given = load(tree, [vm()], console={"round_us": 10, "bytes_per_round": CONSOLE_QUEUE})
    assert given.console == ConsoleConfig(round_us=10, bytes_per_round=CONSOLE_QUEUE)
    assert load(tree, [vm()], console={"round_us": 500}).console == ConsoleConfig(500, 64)


@pytest.mark.parametrize(
    ("console", "message"),
    [
        ({"round_us": 9}, "console.round_us: 9 is out of range 10..1000000"),
        ({"round_us": 1_000_001}, "console.round_us: 1000001 is out of range 10..1000000"),
        ({"bytes_per_round": 0}, "console.bytes_per_round: 0 is out of range 1..1024"),
        ({"bytes_per_round": 1025},
         "console.bytes_per_round: 1025 exceeds the 1024 bytes OVM queues per VM "
         "(OVM_CONSOLE_QUEUE)"),
        ({"bytes_per_round": "64"}, "console.bytes_per_round: expected an integer, got '64'"),
        ({"round": 100}, "console.round: unknown key (allowed: bytes_per_round, round_us)"),
        ([], "console: expected a mapping, got a list"),
    ],
)
def test_rejected_console(tree: Path, console: Any, message: str) -> None:
    assert scenario_error(tree, [vm()], console=console) == f"{SCENARIO_FILE}: {message}"


# --- runtime: validation and placement ----------------------------------------------


def test_runtime_images_are_placed_after_the_vms(guests: Path) -> None:
    scenario = load(guests, [vm("a"), vm("b")], runtime=[image(), image("probe", "16M")])
    assert [str(v.memory) for v in scenario.vms] == [
        "0x61100000-0x611fffff", "0x61200000-0x612fffff",
    ]
    assert scenario.runtime == (
        RuntimeImage("hello", Region(0x61300000, 4 * MIB)),
        # A multiple of 16 MiB gets 16 MiB alignment, as a VM's memory does.
        RuntimeImage("probe", Region(0x62000000, 16 * MIB)),
    )
    assert [i.name for i in scenario.runtime] == ["runtime_hello", "runtime_probe"]
    assert load(guests, [vm()]).runtime == ()


def test_a_fixed_runtime_image_is_avoided_by_the_vms(tree: Path) -> None:
    scenario = load(tree, [vm("a"), vm("b")], runtime=[image(offset="17M")])
    assert scenario.runtime[0].memory == Region(0x61100000, 4 * MIB)
    assert [str(v.memory) for v in scenario.vms] == [
        "0x61500000-0x615fffff", "0x61600000-0x616fffff",
    ]


@pytest.mark.parametrize(
    ("vms", "runtime", "message"),
    [
        ([vm()], [image("nope")],
         "runtime[0].guest: unknown guest 'nope': no directory ovm/guests/nope "
         "(available: hello, probe)"),
        ([vm()], [image(), image("probe"), image(size="1M")],
         "runtime[2].guest: guest 'hello' is listed twice (also runtime[0]): `register` names "
         "a run-time image by its guest"),
        ([vm()], [image(size="1536K")],
         "runtime[0].memory.size: 0x180000 is not a multiple of 1 MiB"),
        ([vm(f"v{i}") for i in range(MAX_VMS - 1)], [image(), image("probe")],
         "runtime: 7 VMs and 2 run-time images given, at most 8 together are supported "
         "(a run-time VM's id follows the VMs')"),
        ([vm("a", memory={"size": "1M", "offset": "18M"})], [image(offset="17M")],
         "runtime[0].memory: region 0x61100000-0x614fffff overlaps VM 'a' "
         "(0x61200000-0x612fffff)"),
        ([vm()], [image(size="240M")],
         "vms: the VMs and run-time images need 241 MiB of memory, but only 239 MiB of RAM is "
         "free outside OVM's region and non-secure area"),
        ([vm("runtime_hello")], [image()],
         "vms[0].name: 'runtime_hello' is the name run-time image 'hello' is built under "
         "(runtime_<guest>): choose another VM name"),
        ([vm()], [{**image(), "name": "x"}],
         "runtime[0].name: unknown key (allowed: guest, memory)"),
        ([vm()], {"guest": "hello"}, "runtime: expected a list, got a mapping"),
    ],
)
def test_rejected_runtime(guests: Path, vms: list[Any], runtime: Any, message: str) -> None:
    assert scenario_error(guests, vms, runtime=runtime) == f"{SCENARIO_FILE}: {message}"


def test_a_runtime_guest_must_be_spelled_as_register_names_it(tree: Path) -> None:
    (tree / "guests" / "Probe-2").mkdir()
    assert scenario_error(tree, [vm()], runtime=[image("Probe-2")]) == (
        f"{SCENARIO_FILE}: runtime[0].guest: guest 'Probe-2' cannot be a run-time image: "
        "`register` names it as a VM name is spelled (lower-case letter, then up to 15 of "
        "a-z, 0-9, _)"
    )


# --- runtime, io, console: generated sources ----------------------------------------


def test_generated_sources(guests: Path, tmp_path: Path) -> None:
    scenario = load(
        guests,
        [host(io=["console", "timer"]), srt(io=["console"]), vm("n", cores=[1], io=["hostdev"])],
        runtime=[image(), image("probe", "2M")],
        console={"round_us": 500, "bytes_per_round": 32},
    )
    board = load_board(guests, "b")
    out = tmp_path / "out"
    out.mkdir()
    names = [v.name for v in scenario.vms] + ["runtime_hello", "runtime_probe"]
    bins = {name: out / f"{name}.bin" for name in names}
    files = render(board, scenario, guest_bins=bins, build_id="0123456789ab")

    config_c = files["config.c"]
    blocks = config_c.split("\t{\n")[1:]
    assert ["\t\t.io = 0x3," in blocks[0], "\t\t.io = 0x1," in blocks[1],
            "\t\t.io = 0x4," in blocks[2]] == [True, True, True]
    lines = config_c.splitlines()
    assert "extern const u8 guest_image_runtime_probe[], guest_image_runtime_probe_end[];" in lines
    start = lines.index("const struct runtime_image runtime_images[] = {")
    assert lines[start + 1 : start + 10] == [
        '\t{ .guest = "hello", .mem_base = 0x61400000, .mem_size = 0x00400000, '
        ".image_start = guest_image_runtime_hello, .image_end = guest_image_runtime_hello_end },",
        '\t{ .guest = "probe", .mem_base = 0x61800000, .mem_size = 0x00200000, '
        ".image_start = guest_image_runtime_probe, .image_end = guest_image_runtime_probe_end },",
        "};",
        "const u32 runtime_image_count = 2;",
        "",
        "const struct console_config console_config = {",
        "\t.round_us = 500,",
        "\t.bytes_per_round = 32,",
        "};",
    ]
    assert files["config.mk"].splitlines()[-1] == "GUEST_BINS := " + " ".join(
        str(bins[name]) for name in names)

    # Both compile: config.c against config.h, and the images with the binaries in them.
    for index, name in enumerate(names):
        bins[name].write_bytes(bytes([index]) * (10 + index))
    write_changed(out, files)
    for source, flags in (("config.c", ["-ffreestanding", "-Wall", "-Wextra", "-Werror",
                                        f"-I{OVM / 'core' / 'inc'}", f"-I{OVM / 'lib' / 'inc'}"]),
                          ("guest_images.S", [])):
        subprocess.run([GCC, "-c", "-mcpu=cortex-a9", *flags, "-o", str(out / f"{source}.o"),
                        str(out / source)], check=True)
    with (out / "guest_images.S.o").open("rb") as stream:
        table = ELFFile(stream).get_section_by_name(".symtab")
        found = {symbol.name: symbol["st_value"] for symbol in table.iter_symbols()}
    assert found["guest_image_runtime_probe_end"] - found["guest_image_runtime_probe"] == 14
    assert found["guest_image_runtime_hello_end"] - found["guest_image_runtime_hello"] == 13


# --- runtime: builds -----------------------------------------------------------------


def test_build_makes_each_runtime_image_like_a_guest(tree: Path, tmp_path: Path) -> None:
    write_scenario(tree, {"description": "d", "vms": [host()], "runtime": [image()]})
    fake = FakeMake(compile_tiny_elf(tmp_path))
    result = build("b", "s", repo_root=tree.parent, build_root=tmp_path / "build", run=fake)
    out = tmp_path / "build" / "b" / "s"
    assert [command[3:6] for command in fake.commands[:2]] == [
        ["GUEST=hello", "NAME=host", "LOAD_ADDR=0x61100000"],
        ["GUEST=hello", "NAME=runtime_hello", "LOAD_ADDR=0x61200000"],
    ]
    assert f"OUT_DIR={out / 'guests'}" in fake.commands[1]
    assert [row.name for row in result.sizes] == ["core", "ovm.elf", "host", "runtime_hello"]
    assert "guest_image_runtime_hello:" in (out / "gen" / "guest_images.S").read_text()


def linked_repo(directory: Path, scenario: dict[str, Any]) -> Path:
    """A repository whose ovm/ is the real one (by symlinks) but for its scenarios: only s."""
    ovm = directory / "repo" / "ovm"
    ovm.mkdir(parents=True)
    for entry in OVM.iterdir():
        if entry.name != "scenarios":
            (ovm / entry.name).symlink_to(entry)
    (ovm / "scenarios").mkdir()
    (ovm / "scenarios" / "s.yaml").write_text(yaml.safe_dump(scenario))
    return ovm.parent


def test_real_build_with_a_runtime_image(tmp_path: Path) -> None:
    """The real Makefiles link the run-time image at its memory and embed it in ovm.elf."""
    repo = linked_repo(tmp_path, {
        "description": "a host that may start one run-time guest",
        "vms": [{"name": "host", "guest": "hello", "level": "NRT", "cores": [0],
                 "memory": {"size": "1M"}, "host": True, "io": ["console"]}],
        "runtime": [{"guest": "hello", "memory": {"size": "2M"}}],
    })
    result = build("qemu-vexpress-a9", "s", repo_root=repo, build_root=tmp_path / "build")
    guests = tmp_path / "build" / "qemu-vexpress-a9" / "s" / "guests"
    with (guests / "runtime_hello.elf").open("rb") as stream:
        assert ELFFile(stream).header["e_entry"] == 0x61200000
    with result.elf.open("rb") as stream:
        table = ELFFile(stream).get_section_by_name(".symtab")
        found = {symbol.name: symbol["st_value"] for symbol in table.iter_symbols()}
    size = found["guest_image_runtime_hello_end"] - found["guest_image_runtime_hello"]
    assert size == (guests / "runtime_hello.bin").stat().st_size > 0
    assert {"host", "runtime_hello"} <= {row.name for row in result.sizes}


# --- runtime_request -------------------------------------------------------------------


@pytest.fixture
def registry(guests: Path) -> tuple[Board, Scenario]:
    """A scenario with a host, an SRT VM and two run-time images."""
    scenario = load(guests, [host(io=["console"]), srt()],
                    runtime=[image(), image("probe", "2M")])
    return load_board(guests, "b"), scenario


def worker(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": "worker", "guest": "hello", "level": "SRT", "cores": [1],
        "memory": {"size": "2M"},
        "realtime": {"deadline_us": 1000, "period_us": 2000, "budget_us": 300},
        "args": [7], "io": ["console", "timer"],
    }
    doc.update(changes)
    return {key: value for key, value in doc.items() if value is not None}


def test_runtime_request_accepts_a_vm_mapping(registry: tuple[Board, Scenario]) -> None:
    board, scenario = registry
    assert runtime_request(worker(), board, scenario) == RuntimeRequest(
        name="worker", guest="hello", level=1, core_mask=0x2, mem_size=2 * MIB,
        deadline_us=1000, period_us=2000, budget_us=300, args=(7, 0), io=0x3,
    )
    nrt = runtime_request(
        worker(level="NRT", guest="probe", cores=[0, 1], memory={"size": "2M"}, realtime=None,
               args=[1, 2], io=["hostdev"]),
        board, scenario)
    assert (nrt.level, nrt.core_mask, nrt.mem_size, nrt.args, nrt.io) == (
        2, 0x3, 2 * MIB, (1, 2), 0x4)
    assert (nrt.deadline_us, nrt.period_us, nrt.budget_us) == (0, 0, 0)
    bare = runtime_request(worker(level="HRT", realtime=None, args=None, io=None), board, scenario)
    assert (bare.level, bare.args, bare.io) == (0, (0, 0), 0)


def test_runtime_request_is_laid_out_as_struct_ovm_vm_request(
    registry: tuple[Board, Scenario], tmp_path: Path
) -> None:
    packed = runtime_request(worker(), board=registry[0], scenario=registry[1]).to_bytes()
    assert packed[:16] == b"worker" + bytes(10)
    assert packed[16:32] == b"hello" + bytes(11)
    assert struct.unpack("<9I", packed[32:]) == (1, 0x2, 2 * MIB, 1000, 2000, 300, 7, 0, 0x3)
    check = tmp_path / "layout.c"
    check.write_text(
        "#include <stddef.h>\n#include <ovm/hypercall.h>\n"
        f"_Static_assert(sizeof(struct ovm_vm_request) == {len(packed)}, \"size\");\n"
        "_Static_assert(offsetof(struct ovm_vm_request, level) == 32, \"level\");\n"
        "_Static_assert(offsetof(struct ovm_vm_request, args) == 56, \"args\");\n"
        "_Static_assert(offsetof(struct ovm_vm_request, io) == 64, \"io\");\n"
    )
    subprocess.run([GCC, "-c", "-mcpu=cortex-a9", f"-I{OVM / 'include'}", "-o",
                    str(tmp_path / "layout.o"), str(check)], check=True)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (worker(level="NRT", realtime=None, io=None, host=True),
         "host: a run-time VM cannot be the host (the host is one of the scenario's VMs)"),
        (worker(devices=["spare"]),
         "devices: a run-time VM is given no devices: passthrough is fixed when OVM is built"),
        (worker(irqs=[40]),
         "irqs: a run-time VM is routed no interrupts: routes are fixed when OVM is built"),
        (worker(memory={"size": "2M", "offset": "32M"}),
         "memory.offset: a run-time VM runs in the memory its image is linked for: give only "
         "its size"),
        (worker(guest="nope"),
         "guest: guest 'nope' is not a run-time image of scenario 's' "
         "(run-time images: hello, probe)"),
        (worker(memory={"size": "8M"}),
         "memory.size: 8 MiB exceeds the 4 MiB of run-time image 'hello' "
         "(0x61300000-0x616fffff)"),
        (worker(name="s"), "name: VM name 's' is taken by a VM of scenario 's'"),
        (worker(name="host"), "name: VM name 'host' is taken by a VM of scenario 's'"),
        # The loader's own checks, as for a scenario's VM:
        (worker(name="Worker"),
         "name: 'Worker' is not a valid VM name (lower-case letter, then up to 15 of a-z, 0-9, _)"),
        (worker(level="NRT", io=None),
         "realtime: only SRT VMs have real-time parameters, VM 'worker' is NRT"),
        (worker(io=["console", "hostdev"]),
         "io[1]: device 'hostdev': VM 'worker' is SRT, whose I/O OVM serves: it may have only "
         "console, timer, ptimer, watchdog"),
        (worker(level="HRT", realtime=None),
         "io[0]: device 'console': VM 'worker' is HRT, whose I/O is passthrough (`devices`) but "
         "for its core's timers: it may have only ptimer, watchdog"),
        (worker(cores=[2]), "cores[0]: core 2 does not exist: board 'b' has cores 0..1"),
        (worker(args=[1, 2, 3]), "args: at most 2 arguments (r2, r3), got 3"),
        (worker(realtime={"deadline_us": 100, "period_us": 50, "budget_us": 10}),
         "realtime.period_us: 50 is below scheduler.min_period_us (100)"),
        (worker(memory={"size": "1536K"}), "memory.size: 0x180000 is not a multiple of 1 MiB"),
        (worker(prio=1),
         "prio: unknown key (allowed: args, cores, guest, io, level, memory, name, realtime)"),
        (worker(memory=None), "memory: required key missing"),
        ([worker()], "expected a mapping, got a list"),
    ],
)
def test_runtime_request_refuses(
    registry: tuple[Board, Scenario], doc: Any, message: str
) -> None:
    board, scenario = registry
    with pytest.raises(ConfigError) as caught:
        runtime_request(doc, board, scenario)
    assert str(caught.value) == f"<register>: {message}"


def test_runtime_request_without_runtime_images(tree: Path) -> None:
    scenario = load(tree, [host()])
    with pytest.raises(ConfigError, match=r"guest: guest 'hello' is not a run-time image of "
                                          r"scenario 's' \(run-time images: none\)"):
        runtime_request(worker(), load_board(tree, "b"), scenario)
