"""Debian's kernel as a Linux VM under OVM (scenario linux-alone).

OVM loads the zImage, its derived device tree and the host initramfs, enters the
kernel in non-secure SVC per the ARM boot protocol and leaves it core 0. Its
console is UART1, QEMU's second serial port, reached through labgrid (a
NetworkSerialPort on a free loopback port, SerialDriver, ShellDriver). OVM's own
console stays on UART0, through the QEMUDriver as in every other test.
"""

from __future__ import annotations

import pytest
from linux_boot import cpu_features, debian_release, linux_under_ovm, report, vfpcheck_summary

pytestmark = pytest.mark.lab

BOOT_S = 240.0
TYPED_BEFORE_THE_SHELL = b"\n" * 20 + b"read line\n"


@pytest.fixture(scope="module")
def linux_vm(env, target, pytestconfig, tmp_path_factory):
    """OVM with the Linux VM booted, and a shell on Linux's console; both ended after."""
    transcript = tmp_path_factory.mktemp("linux-vm") / "linux-console.txt"
    # Typed before the shell runs: Enter pressed a few times, each newline waiting in the
    # tty for a prompt of its own, and a command that takes the next line typed as its
    # input. No prompt may be taken for a command's, no command's line for another's input.
    with linux_under_ovm(env, target, "linux-alone", boot_s=BOOT_S, transcript=transcript,
                         before_shell=lambda shell: shell.write(TYPED_BEFORE_THE_SHELL),
                         ) as (strategy, shell):
        report(pytestconfig, f"[linux vm] boot under OVM to a shell prompt: "
                             f"{shell.seconds_to_prompt:.1f} s wall; console transcript: {transcript}")
        yield strategy, shell


@pytest.mark.qemu
def test_ovm_creates_the_linux_vm_in_supervisor_mode(linux_vm):
    strategy, _ = linux_vm
    line = strategy.transcript.wait_for(
        r"^\[ovm\] vm0 linux: guest 'linux', level NRT, supervisor mode, memory "
        r"0x68000000-0x6fffffff .*$", 5.0)
    assert line


@pytest.mark.qemu
def test_the_kernel_is_debians_and_sees_only_its_vm(linux_vm):
    _, shell = linux_vm
    release = debian_release()
    assert shell.run_check("uname -r") == [release]
    assert shell.run_check("tty") == ["/dev/ttyAMA1"]
    # One CPU, 128 MiB (less what the kernel keeps): the VM's core and region.
    assert shell.run_check("grep -c ^processor /proc/cpuinfo") == ["1"]
    (total,) = [line for line in shell.run_check("cat /proc/meminfo") if line.startswith("MemTotal")]
    assert 96 * 1024 < int(total.split()[1]) <= 128 * 1024


@pytest.mark.qemu
def test_vfp_and_neon_are_there_and_keep_their_state(linux_vm):
    _, shell = linux_vm
    assert {"vfp", "neon"} <= cpu_features(shell)
    lines, code = shell.run("vfpcheck", timeout=120)
    match = vfpcheck_summary(lines)
    assert code == 0, lines
    assert match[2] == "0" and match[3] == match[4]


@pytest.mark.qemu
def test_ovms_console_is_not_linuxs(linux_vm):
    _, shell = linux_vm
    # OVM's UART0 is disabled in the VM's tree: Linux has UART1 only.
    lines = shell.run_check("ls /sys/class/tty | grep ttyAMA")
    assert lines == ["ttyAMA1"], lines
