"""Guest programs built without OVM (lab.firmware.native): real builds for both boards."""

from __future__ import annotations

from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from lab.firmware.errors import BuildError
from lab.firmware.loader import load_board
from lab.firmware.native import NATIVE_HEADER, build_native

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("board_name", ["qemu-vexpress-a9", "zc702"])
def test_native_latency_program_links_where_ovm_would_and_says_its_board(
    board_name: str, tmp_path: Path
) -> None:
    result = build_native(board_name, "latency", (100, 1000), repo_root=REPO, build_root=tmp_path)
    board = load_board(REPO / "ovm", board_name)
    with result.elf.open("rb") as stream:
        assert ELFFile(stream).header["e_entry"] == board.ovm.base
    assert result.bin.stat().st_size > 0
    header = (result.elf.parent / NATIVE_HEADER).read_text()
    assert f"#define NATIVE_PERIPH_BASE 0x{board.periph_base:08x}u" in header
    assert f"#define NATIVE_UART_BASE 0x{board.console.base:08x}u" in header
    assert '#define NATIVE_BOARD "' + board_name + '"' in header
    assert "#define NATIVE_ARG0 100" in header and "#define NATIVE_ARG1 1000" in header


def test_new_arguments_rebuild_the_program(tmp_path: Path) -> None:
    first = build_native("qemu-vexpress-a9", "latency", (100, 1000), repo_root=REPO,
                         build_root=tmp_path)
    before = first.bin.read_bytes()
    second = build_native("qemu-vexpress-a9", "latency", (200, 1000), repo_root=REPO,
                          build_root=tmp_path)
    assert second.bin.read_bytes() != before


def test_unknown_program_and_too_many_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="no guest program 'nope'"):
        build_native("qemu-vexpress-a9", "nope", repo_root=REPO, build_root=tmp_path)
    with pytest.raises(BuildError, match="at most 2 arguments"):
        build_native("qemu-vexpress-a9", "latency", (1, 2, 3), repo_root=REPO, build_root=tmp_path)
