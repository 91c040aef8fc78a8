"""The top-level Makefile hands BOARD and SCENARIO to every command that needs them
(checked with make's dry run: nothing is built or started)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def dry_run(*args: str) -> str:
    return subprocess.run(["make", "-n", "-C", str(REPO), *args],
                          capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("target, expected", [
    ("firmware", "-m lab.firmware build --board zc702 --scenario paper-eval"),
    ("debug", "-m lab.debug --board zc702 --scenario paper-eval"),
])
def test_board_and_scenario_reach_the_command(target, expected):
    assert expected in dry_run(target, "BOARD=zc702", "SCENARIO=paper-eval")


def test_make_test_runs_pytest_with_the_qemu_environment():
    assert "-m pytest --lg-env env/qemu.yaml" in dry_run("test")


def test_make_test_checks_lab_with_ruff_and_mypy_first():
    commands = dry_run("test")
    assert "-m ruff check lab" in commands and "-m mypy" in commands
    assert commands.index("-m mypy") < commands.index("-m pytest")


def test_every_target_sets_up_first():
    for target in ("firmware", "lab", "test", "debug"):
        assert "env/setup.sh" in dry_run(target)
