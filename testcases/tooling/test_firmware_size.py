"""Size report (lab.firmware.size) checked against arm-none-eabi-size."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from lab.firmware.layout import BuildLayout
from lab.firmware.size import (
    RowKind,
    SizeRow,
    Sizes,
    elf_sizes,
    format_table,
    size_report,
    sum_sizes,
    write_json,
)

SOURCE = """
const char table[100] = {1};
int counter = 5;
int samples[64];
char scratch[300];
int work(int x) { scratch[x] = (char)x; return table[x] + counter + samples[x]; }
"""


def compile_object(source: str, output: Path) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    c_file = output.with_suffix(".c")
    c_file.write_text(source)
    subprocess.run(
        ["arm-none-eabi-gcc", "-c", "-O2", "-mcpu=cortex-a9", "-ffreestanding",
         "-o", str(output), str(c_file)],
        check=True,
    )
    return output


def berkeley_size(*paths: Path) -> Sizes:
    """Totals as arm-none-eabi-size prints them."""
    output = subprocess.run(
        ["arm-none-eabi-size", "-t", *map(str, paths)], check=True, capture_output=True, text=True
    ).stdout
    text, data, bss = output.splitlines()[-1].split()[:3]
    return Sizes(int(text), int(data), int(bss))


def test_object_sizes_match_arm_none_eabi_size(tmp_path: Path) -> None:
    obj = compile_object(SOURCE, tmp_path / "obj" / "core" / "a.o")
    sizes = elf_sizes(obj)
    assert sizes == berkeley_size(obj)
    assert sizes.text >= 100 and sizes.data >= 4 and sizes.bss >= 256 + 300


def test_report_sums_each_part_and_reads_the_images(tmp_path: Path) -> None:
    layout = BuildLayout(tmp_path)
    core = [
        compile_object(SOURCE, layout.obj_dir / "core" / "a.o"),
        compile_object("int b_data = 1; int b(void) { return b_data; }",
                       layout.obj_dir / "core" / "sub" / "b.o"),
    ]
    arch = compile_object("char stack[4096];", layout.obj_dir / "arch" / "boot.o")
    compile_object("int x;", layout.obj_dir / "zextra" / "x.o")
    compile_object("int y;", layout.obj_dir / "gen" / "config.o")
    guest = compile_object("int g = 3;", layout.guests_dir / "vm0.o")
    guest.rename(layout.guest_elf("vm0"))
    compile_object(SOURCE, layout.ovm_elf.with_suffix(".o")).rename(layout.ovm_elf)

    rows = size_report(layout, ["vm0"])

    assert [(row.name, row.kind) for row in rows] == [
        ("arch", RowKind.PART), ("core", RowKind.PART), ("gen", RowKind.PART),
        ("zextra", RowKind.PART), ("ovm.elf", RowKind.IMAGE), ("vm0", RowKind.GUEST),
    ]
    assert rows[0].sizes == berkeley_size(arch)
    assert rows[1].sizes == berkeley_size(*core) == sum_sizes(core)
    assert rows[4].sizes == berkeley_size(layout.ovm_elf)
    assert rows[5].sizes == berkeley_size(layout.guest_elf("vm0"))


def test_table_and_json(tmp_path: Path) -> None:
    rows = [
        SizeRow("core", RowKind.PART, Sizes(1200, 8, 4096)),
        SizeRow("ovm.elf", RowKind.IMAGE, Sizes(1300, 8, 4096)),
        SizeRow("hello0", RowKind.GUEST, Sizes(5, 0, 0)),
    ]
    assert format_table(rows).splitlines() == [
        "              text  data   bss  total",
        "ovm/core      1200     8  4096   5304",
        "ovm.elf       1300     8  4096   5404",
        "guest hello0     5     0     0      5",
    ]
    write_json(rows, tmp_path / "size.json")
    assert json.loads((tmp_path / "size.json").read_text())[0] == {
        "name": "core", "kind": "part", "text": 1200, "data": 8, "bss": 4096, "total": 5304,
    }
