"""Linux's user side (lab.linux): the host initramfs, booted natively on the emulated board,
driven through labgrid's ShellDriver on the second UART (ttyAMA1, as under OVM).

One boot for the module (about 5 s of wall time here); every QEMU test below uses it. The
first tests need no QEMU: the archive writer, the libraries' resolution, the cyclictest
JSON reader."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from linux_boot import cpu_features, debian_release, needs_linux_files, report, vfpcheck_summary

from lab.firmware.loader import load_board
from lab.linux import LinuxUserError
from lab.linux.cyclictest import (
    CyclictestFormatError,
    parse_cyclictest_json,
    read_cyclictest_json,
    run_cyclictest,
)
from lab.linux.initramfs import (
    APPLETS,
    HOST_INITRAMFS,
    build_host_initramfs,
    char_device,
    directory,
    newc_archive,
    regular,
    symlink,
)
from lab.linux.native import boot_native
from lab.linux.shell import LinuxShell, console_args, free_port, qemu_driver_add_console
from lab.linux.userland import SYSROOT_LIB, find_userland, resolve_libraries
from lab.paths import LINUX_DIR, OVM_DIR
from lab.results.cyclictest import FILE_VERSION, thread_entry

CYCLICTEST_LOOPS = 1000


# -- no QEMU ------------------------------------------------------------------------------

def test_newc_archive_lists_as_written(tmp_path):
    if shutil.which("cpio") is None:
        pytest.skip("no cpio (env/setup.sh installs it)")
    members = [directory("dev"), char_device("dev/console", 5, 1), directory("tmp", 0o1777),
               regular("init", b"#!/bin/sh\n"), symlink("sh", "busybox")]
    listing = subprocess.run(["cpio", "-itv"], input=newc_archive(members), capture_output=True,
                             check=True).stdout.decode().splitlines()
    assert [line.split()[-1] if "->" not in line else line.split()[-3] for line in listing] == [
        "dev", "dev/console", "tmp", "init", "sh"]
    assert [line[:10] for line in listing] == [
        "drwxr-xr-x", "crw-------", "drwxrwxrwt", "-rwxr-xr-x", "lrwxrwxrwx"]


def test_host_initramfs_is_deterministic_and_complete(tmp_path):
    needs_linux_files()
    first = build_host_initramfs(out=tmp_path / "a.cpio.gz")
    second = build_host_initramfs(out=tmp_path / "b.cpio.gz")
    assert first.read_bytes() == second.read_bytes()
    archive = gzip.decompress(first.read_bytes())
    for name in ("init", "bin/busybox", "bin/cyclictest", "bin/hackbench", "bin/vfpcheck",
                 "bin/switchprobe", "bin/ovm-hostd", "lib/modules/ovm.ko",
                 "lib/ld-linux-armhf.so.3", "lib/libc.so.6", "lib/libnuma.so.1", "dev/console"):
        assert name.encode() + b"\0" in archive, name


def test_the_ovm_module_is_built_for_the_kernel_in_use():
    """Against Debian's headers of the very kernel the lab boots: insmod checks vermagic."""
    needs_linux_files()
    from lab.linux.module import build_module

    module = build_module()
    modinfo = module.read_bytes()
    assert f"vermagic={debian_release()} SMP".encode() in modinfo
    assert b"license=GPL" in modinfo
    assert b".debug_info" not in modinfo


def test_userland_libraries_resolve_from_packages_and_sysroot():
    needs_linux_files()
    userland = find_userland()
    assert str(userland.loader) == "/lib/ld-linux-armhf.so.3"
    assert userland.libraries["libnuma.so.1"].is_relative_to(LINUX_DIR / "rt-tests")
    assert userland.libraries["libc.so.6"].parent == SYSROOT_LIB
    assert userland.versions["rt-tests"].startswith("rt-tests:armhf ")


def test_a_missing_library_is_named():
    needs_linux_files()
    userland = find_userland()
    with pytest.raises(LinuxUserError, match=r"libnuma\.so\.1 \(needed by .*cyclictest"):
        resolve_libraries({"cyclictest": userland.programs["cyclictest"]}, [SYSROOT_LIB])


def _document(threads: dict[str, dict], *, nsecs: bool = True) -> dict:
    return {"file_version": FILE_VERSION, "cmdline:": "cyclictest ...", "rt_test_version:": "2.40",
            "start_time": "x", "end_time": "x", "return_code": 0, "sysinfo": {},
            "num_threads": len(threads), "resolution_in_ns": int(nsecs), "thread": threads}


def test_cyclictest_json_read_from_a_written_file(tmp_path):
    # 100 samples: 1000..1098 ns, and one of 5000: p99 is the 99th, 1098.
    values = np.array([*range(1000, 1099), 5000], dtype=np.float64)
    entry = thread_entry(values, core=0, unit="ns")  # lab.results.cyclictest's writer
    path = tmp_path / "ct.json"
    path.write_text(json.dumps(_document({"0": entry}), indent=2))
    run = read_cyclictest_json(path)
    (thread,) = run.threads
    assert (thread.n, thread.min_ns, thread.max_ns) == (100, 1000, 5000)
    assert thread.mean_ns == pytest.approx(values.mean())
    assert thread.p99_ns == 1098 and thread.overflows == 0 and run.unit_ns == 1


def test_cyclictest_json_in_microseconds_without_histogram():
    entry = {"histogram": {}, "cycles": 10, "min": 3, "max": 9, "avg": 4.5, "cpu": 0, "node": -1}
    (thread,) = parse_cyclictest_json(json.dumps(_document({"0": entry}, nsecs=False))).threads
    assert (thread.min_ns, thread.mean_ns, thread.max_ns) == (3000, 4500.0, 9000)
    assert thread.p99_ns is None


def test_cyclictest_json_p99_in_the_overflows_is_none():
    entry = {"histogram": {"5": 90}, "cycles": 100, "min": 5, "max": 2000, "avg": 50.0,
             "cpu": 0, "node": -1}
    (thread,) = parse_cyclictest_json(json.dumps(_document({"0": entry}))).threads
    assert thread.p99_ns is None and thread.overflows == 10


@pytest.mark.parametrize(("text", "message"), [
    ("", "not JSON"),
    ('{"file_version": 1, "thread": {"0": {"histogram": {', "not JSON"),
    ("[1, 2]", "not a JSON object"),
    (json.dumps({**_document({}), "file_version": 7}), "file_version 7"),
    (json.dumps(_document({"0": {"histogram": {}, "min": 1, "max": 2, "avg": 1.5, "cpu": 0}})),
     "thread 0: no 'cycles'"),
    (json.dumps(_document({"0": {"histogram": {"1": 5}, "cycles": 2, "min": 1, "max": 1,
                                 "avg": 1.0, "cpu": 0}})), "5 samples in the histogram, 2 cycles"),
    (json.dumps(_document({"0": {"histogram": {"x": 1}, "cycles": 1, "min": 1, "max": 1,
                                 "avg": 1.0, "cpu": 0}})), "is not a bucket"),
    (json.dumps({**_document({}), "num_threads": 2}), "num_threads 2"),
])
def test_malformed_cyclictest_json_is_refused_clearly(text, message):
    with pytest.raises(CyclictestFormatError, match=re.escape(message)):
        parse_cyclictest_json(text, "ct.json")


def test_console_args_are_one_loopback_serial():
    port = free_port()
    assert console_args(port) == ["-serial", f"tcp:127.0.0.1:{port},server=on,wait=off"]


def test_shell_on_a_closed_port_fails_clearly():
    with pytest.raises(LinuxUserError, match="no connection"):
        with LinuxShell(free_port(), boot_timeout=0.3):
            pass


def test_build_host_initramfs_default_place():
    needs_linux_files()
    assert build_host_initramfs() == LINUX_DIR / HOST_INITRAMFS


@pytest.mark.qemu
def test_console_goes_after_qemudrivers_own_serial(env):
    """Under OVM, Linux's console must be the second UART: after QEMUDriver's -serial. A
    target of its own (a second Environment), so that the session's QEMU is not touched."""
    from labgrid import Environment

    target = Environment(env.config_file).get_target("main")
    try:
        qemu = target.get_driver("QEMUDriver")  # activated: its command is built, not run
        port = free_port()
        qemu_driver_add_console(qemu, port)
        serials = [value for option, value in zip(qemu._cmd, qemu._cmd[1:]) if option == "-serial"]
        assert serials == ["chardev:serialsocket", f"tcp:127.0.0.1:{port},server=on,wait=off"]
    finally:
        target.cleanup()


# -- natively on QEMU ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def shell(env, pytestconfig, tmp_path_factory):
    """The host image booted natively, once; its console transcript kept in pytest's tmp."""
    needs_linux_files()
    transcript = tmp_path_factory.mktemp("linux-userland") / "console.txt"
    with boot_native(env_file=Path(env.config_file), transcript_path=transcript) as linux:
        report(pytestconfig, f"[linux userland] native boot to a shell prompt: "
                             f"{linux.seconds_to_prompt:.1f} s wall; console transcript: {transcript}")
        yield linux


@pytest.mark.qemu
def test_kernel_release_is_debians(shell):
    release = debian_release()
    assert shell.run_check("uname -r") == [release]
    assert shell.marker_line is not None and shell.marker_line.endswith(release)


@pytest.mark.qemu
def test_console_is_the_second_uart(shell):
    assert "console=ttyAMA1" in shell.run_check("cat /proc/cmdline")[0]
    assert shell.run_check("tty") == ["/dev/ttyAMA1"]  # cttyhack found it behind /dev/console


@pytest.mark.qemu
def test_cpu_has_vfp_and_neon(shell):
    assert {"vfp", "neon"} <= cpu_features(shell)


@pytest.mark.qemu
def test_applets_linked_are_busyboxs(shell):
    assert set(APPLETS) <= set(shell.run_check("busybox --list"))


@pytest.mark.qemu
def test_vfpcheck_finds_the_state_preserved(shell):
    lines, code = shell.run("vfpcheck", timeout=60)
    match = vfpcheck_summary(lines)
    assert code == 0, lines
    assert match[2] == "0" and match[3] == match[4]


@pytest.mark.qemu
def test_vfpcheck_sees_a_corrupted_register(shell):
    lines, code = shell.run("vfpcheck 20 1000 2 corrupt")
    match = vfpcheck_summary(lines)
    assert code == 1 and match[2] == "20"  # one changed register in each of worker 0's windows
    assert any("d17 = 0xdeadbeefdeadbeef" in line for line in lines)


@pytest.mark.qemu
def test_switchprobe_records_the_gaps_of_linuxs_own_interrupts(shell):
    # Natively nothing else shares the CPU: the gaps of more than 1 us are Linux's own
    # interrupts taken while the probe spins. The global timer runs at 100 MHz.
    counter = load_board(OVM_DIR, "qemu-vexpress-a9").periph_base + 0x200
    lines = shell.run_check(f"switchprobe {counter:#x} 5 100 /tmp/gaps.txt", timeout=60)
    assert lines and lines[-1].startswith("switchprobe: gaps=5 threshold=100 "), lines
    gaps = [tuple(map(int, line.split())) for line in shell.run_check("cat /tmp/gaps.txt")]
    assert len(gaps) == 5
    assert all((end - begin) % 2**32 >= 100 for begin, end in gaps)
    assert all(gaps[i][1] <= gaps[i + 1][0] for i in range(4))  # in order, no overlap


@pytest.mark.qemu
def test_switchprobe_refuses_bad_arguments(shell):
    assert shell.run("switchprobe")[1] == 2
    lines, code = shell.run("switchprobe 0x1e000200 5 ten /tmp/gaps.txt 2>&1")
    assert code == 2 and "THRESHOLD ten is not a number" in lines[0]
    lines, code = shell.run("switchprobe 0x1e000202 5 100 /tmp/gaps.txt 2>&1")
    assert code == 2 and "aligned address" in lines[0]


@pytest.mark.qemu
def test_cyclictest_json_through_the_shell(shell):
    run = run_cyclictest(shell, CYCLICTEST_LOOPS)
    (thread,) = run.threads
    assert run.unit_ns == 1 and run.return_code == 0
    assert thread.n == CYCLICTEST_LOOPS and thread.overflows == 0
    assert 0 < thread.min_ns <= thread.mean_ns <= thread.max_ns
    assert thread.p99_ns is not None and thread.min_ns <= thread.p99_ns <= thread.max_ns
    assert sum(thread.histogram.values()) == thread.n


@pytest.mark.qemu
def test_hackbench_runs(shell):
    lines = shell.run_check("hackbench -l 10 -g 1", timeout=60)
    assert any(line.startswith("Time: ") for line in lines)


@pytest.mark.qemu
def test_a_garbage_line_does_not_break_the_shell(shell):
    # Bytes that are not UTF-8, an open quote, an escape sequence busybox does not know.
    shell.write(b"\x00\xff\xfe garbage 'unterminated \"quote \x1b[31m\n")
    assert shell.run_check("echo still here") == ["still here"]


@pytest.mark.qemu
def test_a_command_past_its_timeout_is_interrupted(shell):
    # Busy, not sleeping: under -icount sleep=off an idle guest's time runs ahead at once.
    with pytest.raises(LinuxUserError, match="did not finish within 2 s"):
        shell.run("while :; do :; done", timeout=2)
    assert shell.run("true") == ([], 0)


@pytest.mark.qemu
def test_an_exited_shell_is_replaced(shell):
    shell.write(b"exit\n")
    assert shell.run_check("echo respawned") == ["respawned"]
    assert "shell exited" in shell.transcript
