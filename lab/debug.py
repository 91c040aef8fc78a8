"""``make debug``: OVM under QEMU, halted at its first instruction, with a gdb stub.

Writes ``build/<board>/<scenario>/gdbinit``, which loads OVM's symbols and
every guest's (each guest ELF is linked at its VM's address, so both sets
resolve at once) and attaches to QEMU; prints the gdb-multiarch command; then
runs QEMU in the foreground with the console on this terminal.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

from lab.firmware.errors import ConfigError
from lab.firmware.layout import BuildLayout
from lab.firmware.loader import load_board, load_scenario
from lab.paths import REPO_ROOT, default_lg_env
from lab.target.qemu_command import QemuMachine

QEMU_BOARD = "qemu-vexpress-a9"


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_gdbinit(layout: BuildLayout, vm_names: list[str], port: int) -> Path:
    lines = [
        "set confirm off",
        "set pagination off",
        f"file {layout.ovm_elf}",
        *(f"add-symbol-file {layout.guest_elf(name)}" for name in vm_names),
        f"target remote 127.0.0.1:{port}",
    ]
    gdbinit = layout.root / "gdbinit"
    gdbinit.write_text("\n".join(lines) + "\n")
    return gdbinit


def debug_command(machine: QemuMachine, elf: Path, port: int) -> list[str]:
    return machine.command(
        elf, "-S", "-gdb", f"tcp:127.0.0.1:{port}", "-serial", "stdio", "-monitor", "none"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.debug", description=__doc__)
    parser.add_argument("--board", default=QEMU_BOARD)
    parser.add_argument("--scenario", default="default")
    parser.add_argument("--port", type=int, default=0, help="gdb stub port (default: a free one)")
    parser.add_argument("--env", type=Path, default=default_lg_env())
    args = parser.parse_args(argv)

    if args.board != QEMU_BOARD:
        print(
            f"error: make debug runs the emulated board ({QEMU_BOARD}); debug a {args.board} "
            "through its JTAG probe with the same gdbinit lines (file, add-symbol-file)",
            file=sys.stderr,
        )
        return 2
    ovm_root = REPO_ROOT / "ovm"
    try:
        board = load_board(ovm_root, args.board)
        scenario = load_scenario(ovm_root, args.scenario, board)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    layout = BuildLayout.under(REPO_ROOT / "build", board.name, scenario.name)
    if not layout.ovm_elf.is_file():
        print(f"error: {layout.ovm_elf} is missing: run make firmware first", file=sys.stderr)
        return 2

    port = args.port or free_loopback_port()
    gdbinit = write_gdbinit(layout, [vm.name for vm in scenario.vms], port)
    command = debug_command(QemuMachine.from_env(args.env), layout.ovm_elf, port)
    print(
        f"QEMU is halted before OVM's first instruction, gdb stub on 127.0.0.1:{port}.\n"
        f"In another terminal:\n\n    gdb-multiarch -x {gdbinit.relative_to(REPO_ROOT)}\n\n"
        "then e.g. `break hypercall_dispatch`, `continue`. Both cores are gdb threads "
        "(`info threads`). Ctrl-C here stops QEMU.\n",
        flush=True,
    )
    os.execvp(command[0], command)


if __name__ == "__main__":
    sys.exit(main())
