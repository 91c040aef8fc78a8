"""Every entry point of the lab takes its labgrid environment from LG_ENV when no --lg-env
names one (labgrid's own convention), and a missing one is a clear error with status 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab.paths import LAB_ENV, QEMU_ENV, REPO_ROOT, default_lg_env

ENTRY_POINTS = [
    ("lab.run", ["--boot-only", "--out", "{tmp}/latest"]),
    ("lab.nightly", ["--out", "{tmp}/nightly", "--store", "{tmp}/store.sqlite"]),
    ("lab.host", ["info"]),
    ("lab.health", ["--dir", "{tmp}/health", "check"]),
]


def test_default_environment_follows_lg_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LG_ENV", raising=False)
    assert default_lg_env() == QEMU_ENV
    assert default_lg_env(LAB_ENV) == LAB_ENV
    monkeypatch.setenv("LG_ENV", "env/elsewhere.yaml")
    assert default_lg_env() == default_lg_env(LAB_ENV) == Path("env/elsewhere.yaml")


@pytest.mark.parametrize("module, arguments", ENTRY_POINTS, ids=[m for m, _ in ENTRY_POINTS])
def test_entry_point_reads_lg_env_and_names_a_missing_one(tmp_path: Path, module: str,
                                                           arguments: list[str]) -> None:
    missing = tmp_path / "no-such-environment.yaml"
    done = subprocess.run(
        [sys.executable, "-m", module, *(a.format(tmp=tmp_path) for a in arguments)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "LG_ENV": str(missing)})
    assert done.returncode == 2, done.stdout + done.stderr
    assert str(missing) in done.stderr and "LG_ENV" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
