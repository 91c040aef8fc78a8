"""`make debug`: QEMU halted with its gdb stub, and a gdbinit that gives gdb
OVM's symbols and the guests'. Driven here with gdb-multiarch in batch mode."""

from __future__ import annotations

import subprocess

import pytest

from lab.debug import debug_command, free_loopback_port, write_gdbinit
from lab.firmware.layout import BuildLayout
from lab.firmware.loader import load_board, load_scenario
from lab.target.qemu_command import QemuMachine

pytestmark = pytest.mark.qemu

GDB_TIMEOUT_S = 60


def test_gdb_stops_in_a_hypercall_handler_with_guest_symbols_loaded(repo_root):
    board = load_board(repo_root / "ovm", "qemu-vexpress-a9")
    scenario = load_scenario(repo_root / "ovm", "default", board)
    layout = BuildLayout.under(repo_root / "build", board.name, scenario.name)
    port = free_loopback_port()
    gdbinit = write_gdbinit(layout, [vm.name for vm in scenario.vms], port)
    first_vm = scenario.vms[0]

    qemu = subprocess.Popen(
        debug_command(QemuMachine.from_env(repo_root / "env" / "qemu.yaml"), layout.ovm_elf, port),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        gdb = subprocess.run(
            ["gdb-multiarch", "-nx", "-batch", "-x", str(gdbinit),
             "-ex", "info symbol $pc",
             "-ex", "break hc_ping",
             "-ex", "continue",
             "-ex", "info symbol $lr",
             "-ex", f"info symbol 0x{first_vm.mem_base:x}",
             "-ex", "kill"],
            capture_output=True, text=True, timeout=GDB_TIMEOUT_S,
        )
    finally:
        qemu.kill()
        qemu.wait()
    out = gdb.stdout
    assert "_start in section .text" in out, out + gdb.stderr
    assert "Breakpoint 1, hc_ping" in out, out + gdb.stderr
    assert "hypercall_dispatch" in out, out
    assert f"_start in section .text of {layout.guest_elf(first_vm.name)}" in out, out
