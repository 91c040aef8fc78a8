"""The build driver (lab.firmware.build) with make replaced by a fake, plus one real build."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from fake_make import FakeMake, compile_tiny_elf

from lab.firmware.build import build, run_command
from lab.firmware.errors import BuildError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_tiny_elf(tmp_path_factory.mktemp("tiny"))


def test_build_runs_make_for_each_guest_then_ovm(
    tmp_path: Path, tiny_elf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeMake(tiny_elf)
    result = build("qemu-vexpress-a9", "default", repo_root=REPO, build_root=tmp_path, jobs=3,
                   run=fake)

    out = tmp_path / "qemu-vexpress-a9" / "default"
    assert fake.commands == [
        ["make", "-C", str(REPO / "ovm" / "guests"), "GUEST=hello", "NAME=hello0",
         "LOAD_ADDR=0x61100000", f"OUT_DIR={out / 'guests'}", "-j3"],
        ["make", "-C", str(REPO / "ovm" / "guests"), "GUEST=hello", "NAME=hello1",
         "LOAD_ADDR=0x61200000", f"OUT_DIR={out / 'guests'}", "-j3"],
        ["make", "-C", str(REPO / "ovm"), f"BUILD_DIR={out}", f"GEN_DIR={out / 'gen'}", "-j3"],
    ]
    assert sorted(p.name for p in (out / "gen").iterdir()) == [
        "config.c", "config.mk", "config_defs.h", "guest_images.S",
    ]
    assert (result.elf, result.bin, result.size_json) == (
        out / "ovm.elf", out / "ovm.bin", out / "size.json",
    )
    assert [row["name"] for row in json.loads(result.size_json.read_text())] == [
        "core", "ovm.elf", "hello0", "hello1",
    ]
    assert capsys.readouterr().out.splitlines() == [
        "[firmware] board=qemu-vexpress-a9 scenario=default: generating config",
        "[firmware] board=qemu-vexpress-a9 scenario=default: building guest hello0",
        "[firmware] board=qemu-vexpress-a9 scenario=default: building guest hello1",
        "[firmware] board=qemu-vexpress-a9 scenario=default: linking ovm.elf",
    ]


def test_rebuild_leaves_generated_files_untouched(tmp_path: Path, tiny_elf: Path) -> None:
    build("zc702", "default", repo_root=REPO, build_root=tmp_path, run=FakeMake(tiny_elf))
    gen = tmp_path / "zc702" / "default" / "gen"
    stamps = {p.name: p.stat().st_mtime_ns for p in gen.iterdir()}
    build("zc702", "default", repo_root=REPO, build_root=tmp_path, run=FakeMake(tiny_elf))
    assert {p.name: p.stat().st_mtime_ns for p in gen.iterdir()} == stamps


def test_make_that_produces_nothing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BuildError) as caught:
        build("zc702", "default", repo_root=REPO, build_root=tmp_path, run=lambda command: None)
    guests = tmp_path / "zc702" / "default" / "guests"
    assert str(caught.value).endswith(
        f"succeeded but did not produce {guests / 'hello0.elf'}, {guests / 'hello0.bin'}"
    )


def test_failing_command_reports_command_and_output_tail() -> None:
    script = "for i in $(seq 1 50); do echo line$i; done; exit 3"
    with pytest.raises(BuildError) as caught:
        run_command(["sh", "-c", script])
    lines = str(caught.value).splitlines()
    assert lines[0] == f"sh -c '{script}' failed with exit code 3:"
    assert lines[1:] == [f"line{i}" for i in range(11, 51)]


def test_missing_program_is_a_build_error() -> None:
    with pytest.raises(BuildError, match="cannot run no-such-program-xyz"):
        run_command(["no-such-program-xyz"])


def test_real_build(tmp_path: Path) -> None:
    """The real Makefiles and toolchain produce the image and a size report that adds up."""
    result = build("qemu-vexpress-a9", "default", repo_root=REPO, build_root=tmp_path)
    assert result.bin.stat().st_size > 0
    sizes = {row.name: row.sizes for row in result.sizes}
    berkeley = subprocess.run(
        ["arm-none-eabi-size", str(result.elf)], check=True, capture_output=True, text=True
    ).stdout.splitlines()[1].split()
    elf = sizes["ovm.elf"]
    assert [elf.text, elf.data, elf.bss] == [int(n) for n in berkeley[:3]]
    assert {"arch", "core", "gen", "hello0", "hello1"} <= set(sizes)
