"""Booting a Linux scenario under OVM for a test (``lab.linux.under_ovm``, skipped
without the Linux files), and what the test modules here read from a Linux shell (the
kernel's release, the CPU's features, vfpcheck's line).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lab.linux import under_ovm
from lab.linux.shell import LinuxShell
from lab.linux.under_ovm import debian_release

__all__ = ["cpu_features", "debian_release", "linux_under_ovm", "needs_linux_files", "report",
           "vfpcheck_summary", "VFPCHECK_LINE"]

VFPCHECK_LINE = re.compile(r"^vfpcheck: iterations=(\d+) .*\berrors=(\d+) "
                           r"result=(\S+) expected=(\S+)")


def needs_linux_files() -> None:
    if not under_ovm.linux_files_present():
        pytest.skip("no build/linux-armhf (kernel, busybox, rt-tests): run env/setup.sh")


def cpu_features(shell: LinuxShell) -> set[str]:
    """/proc/cpuinfo's Features."""
    (features,) = [line for line in shell.run_check("cat /proc/cpuinfo")
                   if line.startswith("Features")]
    return set(features.split(":", 1)[1].split())


def vfpcheck_summary(lines: list[str]) -> re.Match[str]:
    """vfpcheck's one summary line among its output: iterations, errors, result, expected."""
    (match,) = [m for m in map(VFPCHECK_LINE.match, lines) if m]
    return match


@contextmanager
def linux_under_ovm(env, target, scenario: str, *, boot_s: float, transcript: Path,
                    before_shell: Callable[[LinuxShell], None] | None = None,
                    ) -> Iterator[tuple[object, LinuxShell]]:
    """lab.linux.under_ovm's boot on the test environment's board; skipped without the
    Linux files."""
    needs_linux_files()
    with under_ovm.linux_under_ovm(target, env.config.get_option("ovm_board", None), scenario,
                                   boot_s=boot_s, transcript=transcript,
                                   before_shell=before_shell) as booted:
        yield booted


def report(pytestconfig: pytest.Config, line: str) -> None:
    """A figure printed past pytest's capture: what a run's log should show."""
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n{line}")
