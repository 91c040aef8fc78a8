"""``python -m lab.run`` on a bad day: QEMU killed, Ctrl-C, SIGTERM in the middle of an experiment.

Each case first leaves a complete (boot-only) run in ``latest``, then starts
the evaluation and stops it while the ``shared`` experiment runs. Whatever
happens, the exit status says what (2 failed, 130 interrupted, 143
terminated), the message names the experiment and how QEMU ended, the
result store holds no partial run, ``latest`` still holds the previous run,
no QEMU is left running, and the next run succeeds.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from lab.paths import REPO_ROOT

pytestmark = pytest.mark.qemu

STOP_AT = "[eval] shared: booting and measuring"
RUN_TIMEOUT_S = 240.0


def _lab_run(out: Path, store: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "lab.run", "--lg-env", "env/qemu.yaml", "--out", str(out),
         "--store", str(store), *extra],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)


def _children(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc: no extra package needed)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [child for child, of in parents.items() if of == parent]
        found += kids
        frontier += kids
    return found


def _qemu_below(pid: int) -> list[int]:
    qemus = []
    for child in _children(pid):
        try:
            if "qemu-system" in Path(f"/proc/{child}/cmdline").read_text():
                qemus.append(child)
        except OSError:
            continue
    return qemus


def _stop_during_shared(run: subprocess.Popen[str], stop: Callable[[int], None]) -> str:
    """Read the run's output until the shared experiment starts, stop it; all it printed."""
    assert run.stdout is not None
    seen = []
    deadline = time.monotonic() + RUN_TIMEOUT_S
    for line in run.stdout:
        seen.append(line)
        if STOP_AT in line:
            time.sleep(1.0)  # inside the experiment, not at its first instruction
            stop(run.pid)
            break
        assert time.monotonic() < deadline, "".join(seen)
    else:
        pytest.fail("the run ended before the shared experiment:\n" + "".join(seen))
    rest, errors = run.communicate(timeout=RUN_TIMEOUT_S)
    return "".join(seen) + rest + errors


def _stored_runs(store: Path) -> int:
    if not store.exists():
        return 0
    with sqlite3.connect(store) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return db.execute("SELECT count(*) FROM runs").fetchone()[0] if "runs" in tables else 0


@pytest.fixture
def complete_run(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A boot-only run completed into ``latest``: (latest, the run's directory, store)."""
    out, store = tmp_path / "out" / "latest", tmp_path / "store.sqlite"
    first = _lab_run(out, store, "--boot-only")
    output, errors = first.communicate(timeout=RUN_TIMEOUT_S)
    assert first.returncode == 0, output + errors
    assert out.is_symlink() and (out / "boot.json").is_file()
    return out, out.resolve(), store


def _kill_qemu(pid: int) -> None:
    qemus = _qemu_below(pid)
    assert qemus, "no QEMU below the run"
    for qemu in qemus:
        os.kill(qemu, signal.SIGKILL)


def _signal_run(sig: int) -> Callable[[int], None]:
    return lambda pid: os.kill(pid, sig)


@pytest.mark.parametrize("stop, status, words", [
    (_kill_qemu, 2, ("shared", "QEMU was killed by signal SIGKILL")),
    (_signal_run(signal.SIGINT), 130, ("interrupted",)),
    (_signal_run(signal.SIGTERM), 143, ("terminated",)),
], ids=["qemu-killed", "sigint", "sigterm"])
def test_a_stopped_run_says_why_keeps_latest_and_stores_nothing(
        complete_run, stop, status, words) -> None:
    latest, previous, store = complete_run
    run = _lab_run(latest, store)
    printed = _stop_during_shared(run, stop)
    assert run.returncode == status, printed
    for word in words:
        assert word in printed, printed
    assert "Traceback" not in printed, printed
    assert "INCOMPLETE" in printed, printed
    assert latest.resolve() == previous and not (latest / "summary.json").exists()
    assert _stored_runs(store) == 0
    partial = [d for d in (latest.parent / "runs").iterdir() if (d / "INCOMPLETE").is_file()]
    assert len(partial) == 1 and (partial[0] / "lab.log").is_file()
    assert _qemu_below(os.getpid()) == []

    again = _lab_run(latest, store, "--boot-only")
    output, errors = again.communicate(timeout=RUN_TIMEOUT_S)
    assert again.returncode == 0, output + errors
    assert latest.resolve() not in (previous, partial[0])
