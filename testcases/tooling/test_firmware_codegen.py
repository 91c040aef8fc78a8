"""Generated configuration sources (lab.firmware.codegen, lab.firmware.buildid)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from lab.firmware.buildid import NO_GIT, build_id
from lab.firmware.codegen import c_string, render, write_changed
from lab.firmware.loader import load_board, load_scenario

REPO = Path(__file__).resolve().parents[2]
OVM = REPO / "ovm"
GCC = "arm-none-eabi-gcc"


def generated(board_name: str, guests_dir: Path, scenario_name: str = "default") -> dict[str, str]:
    board = load_board(OVM, board_name)
    scenario = load_scenario(OVM, scenario_name, board)
    bins = {vm.name: guests_dir / f"{vm.name}.bin" for vm in scenario.vms}
    return render(board, scenario, guest_bins=bins, build_id="0123456789ab-dirty")


def symbols(object_file: Path) -> dict[str, tuple[int, str]]:
    """Symbol name -> (value, section name or special index such as SHN_UNDEF)."""
    with object_file.open("rb") as stream:
        elf = ELFFile(stream)
        table = elf.get_section_by_name(".symtab")
        result = {}
        for symbol in table.iter_symbols():
            index = symbol["st_shndx"]
            # Special indexes (SHN_UNDEF, SHN_ABS, ...) come as names.
            section = index if isinstance(index, str) else elf.get_section(index).name
            result[symbol.name] = (symbol["st_value"], section)
        return result


@pytest.mark.parametrize(
    ("board_name", "scenario_name"),
    [("qemu-vexpress-a9", "default"), ("zc702", "default"), ("qemu-vexpress-a9", "paper-eval")],
)
def test_config_c_compiles_against_config_h(
    tmp_path: Path, board_name: str, scenario_name: str
) -> None:
    files = generated(board_name, tmp_path, scenario_name)
    write_changed(tmp_path, files)
    subprocess.run(
        [GCC, "-c", "-ffreestanding", "-mcpu=cortex-a9", "-Wall", "-Wextra", "-Werror",
         f"-I{OVM / 'core' / 'inc'}", f"-I{OVM / 'lib' / 'inc'}",
         "-o", str(tmp_path / "config.o"), str(tmp_path / "config.c")],
        check=True,
    )
    found = symbols(tmp_path / "config.o")
    for name in ("board", "vm_configs", "vm_config_count", "irq_routes", "irq_route_count",
                 "sched_config", "runtime_images", "runtime_image_count", "console_config",
                 "ovm_build_id", "ovm_scenario_name"):
        assert found[name][1] != "SHN_UNDEF", name
    vm_names = {"default": ("hello0", "hello1"), "paper-eval": ("hrt", "srt", "nrt")}
    for vm_name in vm_names[scenario_name]:
        assert found[f"guest_image_{vm_name}"][1] == "SHN_UNDEF"
        assert found[f"guest_image_{vm_name}_end"][1] == "SHN_UNDEF"


def test_config_c_values_for_qemu(tmp_path: Path) -> None:
    config_c = generated("qemu-vexpress-a9", tmp_path)["config.c"]
    for line in [
        '\t.name = "qemu-vexpress-a9",',
        "\t.ram_base = 0x60000000,",
        "\t.ovm_size = 0x01000000,",
        "\t.private_timer_hz = 100000000,",
        "\t.console_base = 0x10009000,",
        "\t.secondary_release_addr = 0x00000000,",
        "\t.ovm_ns_base = 0x61000000,",
        "\t.ovm_ns_size = 0x00100000,",
        "\t\t.level = LEVEL_NRT,",
        "\t\t.core_mask = 0x2,",
        "\t\t.mem_base = 0x61200000,",
        "\t\t.entry = 0x61200000,",
        "\t\t.image_start = guest_image_hello1,",
        "\t\t.rt = { .deadline_us = 0, .period_us = 0, .budget_us = 0 },",
        "\t\t.host = false,",
        "\t\t.io = 0x0,",
        "const u32 vm_config_count = 2;",
        # No routes: C has no empty arrays, so one placeholder the count leaves out.
        "const struct irq_route irq_routes[] = {",
        "\t{ .irq = 0 },",
        "const u32 irq_route_count = 0;",
        "\t.tick_us = 100,",
        "\t.nrt_slice_us = 1000,",
        "\t.min_period_us = 100,",
        # No run-time images: the same placeholder; and the console's default sharing.
        "const struct runtime_image runtime_images[] = {",
        "\t{ .guest = NULL },",
        "const u32 runtime_image_count = 0;",
        "\t.round_us = 1000,",
        "\t.bytes_per_round = 64,",
        'const char ovm_build_id[] = "0123456789ab-dirty' + " " * 22 + '";',
        'const char ovm_scenario_name[] = "default";',
    ]:
        assert line in config_c.splitlines()


def test_config_c_values_for_the_paper_scenario(tmp_path: Path) -> None:
    config_c = generated("qemu-vexpress-a9", tmp_path, "paper-eval")["config.c"]
    vm_blocks = config_c.split("\t{\n")[1:]
    srt = vm_blocks[1].splitlines()
    assert "\t\t.name = \"srt\"," in srt
    assert "\t\t.rt = { .deadline_us = 1000, .period_us = 1000, .budget_us = 900 }," in srt
    assert "\t\t.host = false," in srt
    assert "\t\t.args = { 1000, 750 }," in srt
    nrt = vm_blocks[2].splitlines()
    assert "\t\t.args = { 0, 0 }," in nrt
    assert "\t\t.name = \"nrt\"," in nrt
    assert "\t\t.host = true," in nrt
    lines = config_c.splitlines()
    start = lines.index("const struct irq_route irq_routes[] = {")
    assert lines[start + 1 : start + 6] == [
        "\t{ .irq = 29, .core = 1, .vm = 0, .vcpu = 0 },",
        "\t{ .irq = 29, .core = 0, .vm = 1, .vcpu = 0 },",
        "\t{ .irq = 30, .core = 0, .vm = 2, .vcpu = 0 },",
        "};",
        "const u32 irq_route_count = 3;",
    ]


def test_guest_images_embed_each_binary(tmp_path: Path) -> None:
    files = generated("zc702", tmp_path)
    (tmp_path / "hello0.bin").write_bytes(b"\x01" * 13)
    (tmp_path / "hello1.bin").write_bytes(b"\x02" * 40)
    write_changed(tmp_path, files)
    subprocess.run(
        [GCC, "-c", "-mcpu=cortex-a9", "-o", str(tmp_path / "images.o"),
         str(tmp_path / "guest_images.S")],
        check=True,
    )
    found = symbols(tmp_path / "images.o")
    start0, section = found["guest_image_hello0"]
    assert section == ".rodata.guest_images"
    assert found["guest_image_hello0_end"][0] - start0 == 13
    start1 = found["guest_image_hello1"][0]
    assert start1 % 8 == 0
    assert found["guest_image_hello1_end"][0] - start1 == 40


def test_defs_and_make_fragment(tmp_path: Path) -> None:
    files = generated("zc702", tmp_path)
    defs = files["config_defs.h"].splitlines()
    assert "#define OVM_BASE 0x10000000" in defs
    assert "#define OVM_SIZE 0x01000000" in defs
    assert "#define OVM_CORES 2" in defs
    make = files["config.mk"].splitlines()
    assert "CONSOLE_DRIVER := cadence_uart" in make
    assert f"GUEST_BINS := {tmp_path / 'hello0.bin'} {tmp_path / 'hello1.bin'}" in make
    assert "CONSOLE_DRIVER := pl011" in generated("qemu-vexpress-a9", tmp_path)["config.mk"]


def test_unchanged_files_are_not_rewritten(tmp_path: Path) -> None:
    files = generated("zc702", tmp_path)
    assert sorted(write_changed(tmp_path / "gen", files)) == sorted(files)
    config_c = tmp_path / "gen" / "config.c"
    os.utime(config_c, (1, 1))
    assert write_changed(tmp_path / "gen", files) == []
    assert config_c.stat().st_mtime == 1
    files["config.c"] += "\n"
    assert write_changed(tmp_path / "gen", files) == ["config.c"]


def test_generation_is_deterministic(tmp_path: Path) -> None:
    assert generated("zc702", tmp_path) == generated("zc702", tmp_path)


@pytest.mark.parametrize(
    ("text", "literal"),
    [("plain", '"plain"'), ('a"b\\c', '"a\\"b\\\\c"'), ("tab\t", '"tab\\011"'),
     ("é", '"\\303\\251"')],
)
def test_c_string(text: str, literal: str) -> None:
    assert c_string(text) == literal


def test_build_id_without_git(tmp_path: Path) -> None:
    assert build_id(tmp_path) == NO_GIT


def test_build_id_from_git(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", *args],
            check=True, capture_output=True, text=True,
        ).stdout.strip()

    git("init", "-q")
    (tmp_path / "f").write_text("1")
    git("add", "f")
    git("commit", "-q", "-m", "c")
    commit = git("rev-parse", "--short=12", "HEAD")
    assert build_id(tmp_path) == commit
    (tmp_path / "f").write_text("2")
    assert build_id(tmp_path) == f"{commit}-dirty"


def test_printed_build_id_has_one_width_whatever_the_id() -> None:
    from lab.firmware.buildid import BUILD_ID_WIDTH, printed_build_id

    ids = ["0123456789ab", "0123456789ab-dirty", "v1.0-3-g0123456789ab-dirty", "nogit"]
    assert {len(printed_build_id(i)) for i in ids} == {BUILD_ID_WIDTH}
    assert printed_build_id("0123456789ab-dirty").split() == ["0123456789ab-dirty"]
