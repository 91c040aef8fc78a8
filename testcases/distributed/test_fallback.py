"""Placement and the fallback to QEMU.

With a coordinator address where nothing listens, a run asked for the lab's
ZC702 (``env/zc702-remote.yaml``) falls back to QEMU after the acquire
timeout, says so, and its results say ``board_kind=qemu``. With a real
``labgrid-coordinator`` on loopback (started here), a free place with the
environment's tags is reserved, acquired and released; a busy one is waited
for and then given up. No exporter and no board: the places have no
resources, so nothing is booted on them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from zc702_standin import REMOTE_ENV, create_place, free_port

from lab.remote.coordination import LabClient
from lab.remote.placement import QEMU_ENV, PlacementError, choose_environment

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("no_lab_variables")


@pytest.fixture
def places(lab_coordinator):
    """Creates places on the coordinator for one test, and deletes them after it."""
    made = []

    def make(name: str, *, held_by: str | None = None, **tags: str) -> str:
        create_place(lab_coordinator, name, **tags)
        made.append((name, held_by))
        if held_by:  # another user holds it
            LabClient(lab_coordinator, user=held_by).acquire(name)
        return name

    yield make
    admin = LabClient(lab_coordinator)
    for name, held_by in made:
        if held_by:
            admin.run("release", "--kick", place=name)
        admin.delete_place(name)


def closed_address() -> str:
    return f"127.0.0.1:{free_port()}"  # the port was free a moment ago: nothing listens


def test_unreachable_coordinator_falls_back_to_qemu_after_the_timeout():
    lines = []
    started = time.monotonic()
    placement = choose_environment(REMOTE_ENV, fallback_qemu=True, acquire_timeout=1.0,
                                   coordinator=closed_address(), log=lines.append)
    elapsed = time.monotonic() - started
    assert placement.fallback and placement.board_kind == "qemu"
    assert placement.env_file == QEMU_ENV and placement.place is None
    assert "unreachable" in placement.reason and "Could not connect" in placement.reason
    assert 1.0 <= elapsed < 5
    assert any(line.startswith("[lab] FALLBACK TO QEMU") and "board_kind=qemu" in line
               for line in lines), lines


def test_without_fallback_no_place_is_an_error():
    with pytest.raises(PlacementError, match="no ZC702 for this run: .*unreachable"):
        choose_environment(REMOTE_ENV, acquire_timeout=0.5, coordinator=closed_address(),
                           log=lambda line: None)


def test_a_local_environment_is_used_as_it_is():
    placement = choose_environment(QEMU_ENV, fallback_qemu=True, coordinator=closed_address())
    assert (placement.env_file, placement.board_kind, placement.fallback) == (QEMU_ENV, "qemu", False)


@pytest.mark.qemu
def test_lab_run_falls_back_and_its_results_say_qemu(tmp_path):
    """``python -m lab.run --boot-only`` against the lab with the coordinator absent."""
    from lab.firmware.build import build

    if not (REPO_ROOT / "build/qemu-vexpress-a9/default/ovm.elf").exists():
        build("qemu-vexpress-a9", "default", repo_root=REPO_ROOT)
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "lab.run", "--boot-only", "--out", str(out),
         "--lg-env", "env/zc702-remote.yaml", "--fallback-qemu", "--acquire-timeout", "1"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "LG_COORDINATOR": closed_address()},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[lab] FALLBACK TO QEMU: a place tagged board=zc702 health=good not acquired " \
           "within 1 s; coordinator" in done.stdout
    assert "booting OVM on target 'main' of " + str(QEMU_ENV) in done.stdout
    assert "(qemu, timing=icount" in done.stdout
    boot = json.loads((out / "boot.json").read_text())
    assert (boot["board_kind"], boot["board"], boot["timing"]) == ("qemu", "qemu-vexpress-a9", "icount")
    assert boot["placement"]["fallback"] is True
    assert boot["placement"]["requested_env"] == "env/zc702-remote.yaml"
    assert boot["placement"]["env"] == "env/qemu.yaml"
    assert "unreachable" in boot["placement"]["reason"]


def test_busy_place_is_waited_for_then_given_up(lab_coordinator, places):
    places("zc702-busy", held_by="colleague", board="zc702", health="good")
    started = time.monotonic()
    placement = choose_environment(REMOTE_ENV, fallback_qemu=True, acquire_timeout=1.0,
                                   coordinator=lab_coordinator, log=lambda line: None)
    assert placement.fallback and placement.env_file == QEMU_ENV
    assert placement.reason == "a place tagged board=zc702 health=good not acquired within 1 s"
    assert time.monotonic() - started >= 1.0
    assert LabClient(lab_coordinator).reservations() == {}, "the reservation is cancelled"


def test_free_place_is_reserved_held_for_a_command_and_released(lab_coordinator, places):
    """``python -m lab.remote.placement ... -- COMMAND``: how make targets run on a lab place."""
    places("zc702-free", board="zc702", health="good")
    places("imx6-free", board="imx6", health="good")  # free, but not a ZC702
    command = [sys.executable, "-m", "lab.remote.placement", "--lg-env", "env/zc702-remote.yaml",
               "--fallback-qemu", "--acquire-timeout", "5", "--coordinator", lab_coordinator,
               "--", "sh", "-c", "echo env={env} place=$LG_PLACE coordinator=$LG_COORDINATOR; "
               f"{Path(sys.executable).with_name('labgrid-client')} -p $LG_PLACE show"]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    first, *shown = done.stdout.splitlines()
    assert first == f"env=env/zc702-remote.yaml place=zc702-free coordinator={lab_coordinator}"
    assert "  acquired: None" not in shown and any(line.startswith("  acquired: ") for line in shown)
    assert "[lab] acquired place zc702-free" in done.stderr
    assert LabClient(lab_coordinator).show("zc702-free").acquired is None, "released after"
    assert LabClient(lab_coordinator).reservations() == {}, "the reservation is cancelled"
