"""One firmware build: validate, generate the configuration, make the guests, make OVM."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .buildid import build_id
from .codegen import render, write_changed
from .errors import BuildError
from .layout import BuildLayout
from .linux_vm import LinuxImage, prepare
from .loader import load_board, load_scenario, scenario_file
from .size import SizeRow, size_report, write_json
from .yaml_checks import At

# Lines of make's output kept in a BuildError: enough for the first compiler error
# and its context, without burying it.
OUTPUT_TAIL_LINES = 40

Runner = Callable[[Sequence[str]], None]


@dataclass(frozen=True)
class BuildResult:
    elf: Path
    bin: Path
    size_json: Path
    sizes: tuple[SizeRow, ...]


def run_command(command: Sequence[str]) -> None:
    """Run a build command quietly; show its warnings, raise with its output tail on failure."""
    try:
        finished = subprocess.run(
            list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    except OSError as err:
        raise BuildError(f"cannot run {shlex.join(command)}: {err}") from None
    lines = finished.stdout.splitlines()
    if finished.returncode != 0:
        tail = "\n".join(lines[-OUTPUT_TAIL_LINES:])
        raise BuildError(
            f"{shlex.join(command)} failed with exit code {finished.returncode}:\n{tail}"
        )
    for line in lines:
        if "warning:" in line:
            print(line, flush=True)


def build(
    board_name: str,
    scenario_name: str,
    *,
    repo_root: Path,
    build_root: Path | None = None,
    jobs: int = 2,
    run: Runner = run_command,
) -> BuildResult:
    repo_root = repo_root.resolve()
    ovm_root = repo_root / "ovm"
    board = load_board(ovm_root, board_name)
    scenario = load_scenario(ovm_root, scenario_name, board)
    layout = BuildLayout.under(build_root or repo_root / "build", board.name, scenario.name)
    if any(char.isspace() for char in str(layout.root)):
        raise BuildError(f"make cannot handle whitespace in the build path {layout.root}")

    def progress(step: str) -> None:
        print(f"[firmware] board={board.name} scenario={scenario.name}: {step}", flush=True)

    # Each image: (name, guest program, load address). A run-time image is built like
    # a VM's guest, linked at the memory reserved for it, under runtime_<guest>. A Linux
    # VM's kernel is not built here.
    images = [(vm.name, vm.guest, vm.mem_base) for vm in scenario.vms if vm.linux is None] + [
        (image.name, image.guest, image.memory.base) for image in scenario.runtime
    ]
    linux_images: dict[str, LinuxImage] = {}
    vms_at = At(scenario_file(ovm_root, scenario.name)).field("vms")
    for index, vm in enumerate(scenario.vms):
        if vm.linux is not None:
            progress(f"device tree and initramfs for Linux VM {vm.name}")
            initramfs = vm.linux.initramfs or host_initramfs(repo_root)
            linux_images[vm.name] = prepare(vm, board, layout.root / "linux", vms_at.item(index),
                                            initramfs)

    progress("generating config")
    files = render(
        board,
        scenario,
        guest_bins={name: layout.guest_bin(name) for name, _, _ in images},
        build_id=build_id(repo_root),
        linux_images=linux_images,
    )
    write_changed(layout.gen_dir, files)

    for name, guest, load_addr in images:
        progress(f"building guest {name}")
        command = [
            "make", "-C", str(ovm_root / "guests"),
            f"GUEST={guest}",
            f"NAME={name}",
            f"LOAD_ADDR=0x{load_addr:08x}",
            f"OUT_DIR={layout.guests_dir}",
            f"-j{jobs}",
        ]
        run(command)
        expect_outputs(command, [layout.guest_elf(name), layout.guest_bin(name)])

    progress("linking ovm.elf")
    command = [
        "make", "-C", str(ovm_root),
        f"BUILD_DIR={layout.root}",
        f"GEN_DIR={layout.gen_dir}",
        f"-j{jobs}",
    ]
    run(command)
    expect_outputs(command, [layout.ovm_elf, layout.ovm_bin])

    rows = size_report(layout, [name for name, _, _ in images])
    write_json(rows, layout.size_json)
    return BuildResult(
        elf=layout.ovm_elf, bin=layout.ovm_bin, size_json=layout.size_json, sizes=tuple(rows)
    )


def host_initramfs(repo_root: Path) -> Path:
    """The lab's host initramfs (busybox, rt-tests, the VFP check), built when needed."""
    from lab.linux.initramfs import build_host_initramfs

    return build_host_initramfs(repo_root / "build" / "linux-armhf")


def expect_outputs(command: Sequence[str], outputs: Sequence[Path]) -> None:
    # A Makefile that disagrees with us about output names would otherwise
    # surface later as a confusing missing-file error.
    missing = [str(path) for path in outputs if not path.is_file()]
    if missing:
        raise BuildError(
            f"{shlex.join(command)} succeeded but did not produce {', '.join(missing)}"
        )
