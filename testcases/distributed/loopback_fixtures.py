"""Fixtures for tests of the distributed lab on one machine (imported by the test modules).

A loopback lab (``lab.remote.loopback``): labgrid-coordinator on a free 127.0.0.1
port, two virtual boards (QEMU behind a network serial port and power switch:
a way to test the lab, not hardware) and labgrid-exporter announcing them,
places ``vboard-1``/``vboard-2`` tagged ``board=virtual`` and ``slot=1``/``2``.
Every process is stopped (its process group killed) when the module ends,
also after a failure.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.remote.loopback import LoopbackLab

REPO_ROOT = Path(__file__).resolve().parents[2]
BOARD = "qemu-vexpress-a9"


def default_image() -> Path:
    from lab.firmware.build import build

    return build(BOARD, "default", repo_root=REPO_ROOT).elf


@pytest.fixture(scope="module")
def loopback_lab(tmp_path_factory, env):
    """The loopback lab; ``env`` (the --lg-env) says how QEMU runs, as for the local target."""
    logs = tmp_path_factory.mktemp("loopback")
    with LoopbackLab(logs, default_image(), boards=2, lg_env=Path(env.config_file)) as lab:
        yield lab
