"""The distributed lab when its own parts fail, on the loopback lab (real coordinator and
exporter, virtual boards): a client killed while it holds a place, a run stopped by
SIGTERM, the board's QEMU and the exporter killed mid-run (each counted against the
board, three in a row tag it out), the coordinator killed and restarted mid-run.

Each client is a process of its own (``python -m lab.run``, ``python -m
lab.remote.placement``) with its own name at the coordinator, in a session of its
own, stopped by the test that started it also when the test fails. Timings are
generous bounds, printed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from loopback_fixtures import BOARD, REPO_ROOT, default_image

from lab.remote.coordination import client_env, write_yaml
from lab.remote.health_ledger import CoordinatorTags, HealthLedger
from lab.remote.loopback import LoopbackLab
from lab.remote.virtual_board import VirtualBoardClient

pytestmark = [pytest.mark.qemu, pytest.mark.usefixtures("no_lab_variables")]

LEASE_S = 10  # short, for the test; the default is 60
FAULT_BOUND_S = 45.0  # a fault named within this (an experiment's own timeout is 120 s)
RECOVERY_BOUND_S = 90.0  # a stale hold recovered within this (ttl 10 s)


@pytest.fixture(scope="module")
def lab(tmp_path_factory, env) -> Iterator[LoopbackLab]:
    """A loopback lab of its own (its coordinator and exporter get killed here)."""
    logs = tmp_path_factory.mktemp("faults-lab")
    with LoopbackLab(logs, default_image(), boards=2, lg_env=Path(env.config_file),
                     tags={"board": "virtual", "health": "good"}) as loopback:
        yield loopback


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """Environments, run outputs and the health ledger, shared by the module's tests."""
    return tmp_path_factory.mktemp("faults")


def env_for(lab: LoopbackLab, work: Path, place: str) -> Path:
    return write_yaml(work / f"{place}.yaml", client_env(place, lab.coordinator, ovm_board=BOARD,
                                                         image=default_image()))


@contextmanager
def client(args: list[str], user: str, log: Path) -> Iterator[subprocess.Popen]:
    """A lab command as ``user``, in a session of its own, its output in ``log``; killed
    (its whole group) when the block ends, if it still runs."""
    env = {**os.environ, "LG_USERNAME": user, "PYTHONDONTWRITEBYTECODE": "1"}
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", *args], cwd=REPO_ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def lab_run(lab_env: Path, work: Path, name: str, *more: str) -> list[str]:
    return ["lab.run", "--lg-env", str(lab_env), "--out", str(work / "out" / "latest"),
            "--store", str(work / f"{name}.sqlite"), "--health-dir", str(work / "health"),
            "--lease", str(LEASE_S), "--acquire-timeout", "60", *more]


def wait_for_line(log: Path, pattern: str, process: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(pattern, log.read_text(errors="replace"), re.MULTILINE)
        if match:
            return match[0]
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"/{pattern}/ not printed within {timeout:.0f} s "
                         f"(status {process.poll()}):\n{log.read_text()[-4000:]}")


def in_experiment(lab: LoopbackLab, place: str, log: Path, process: subprocess.Popen) -> None:
    """Until the run is in its schedulable experiment (some 30 s long) and the board is on."""
    wait_for_line(log, r"\[eval\] schedulable: booting and measuring", process, 240)
    board = VirtualBoardClient(lab.board_url(place))
    deadline = time.monotonic() + 30
    while not board.powered():
        assert time.monotonic() < deadline and process.poll() is None, log.read_text()[-3000:]
        time.sleep(0.1)
    time.sleep(0.5)


def ended(process: subprocess.Popen, timeout: float) -> tuple[int, float]:
    started = time.monotonic()
    code = process.wait(timeout)
    return code, time.monotonic() - started


def qemu_of(lab: LoopbackLab, place: str) -> int:
    """The pid of the QEMU a virtual board runs."""
    board = lab.service(place).process.pid
    children = [pid for task in Path(f"/proc/{board}/task").iterdir()
                for pid in (task / "children").read_text().split()]
    assert children, f"virtual board {place} runs no QEMU"
    return int(children[0])


def free(lab: LoopbackLab, place: str) -> bool:
    info = lab.client().show(place)
    return info.acquired is None and info.reservation is None


def test_a_lab_run_completes_on_a_virtual_board_place_and_leaves_it_off(lab, work):
    lab_env = env_for(lab, work, "vboard-1")
    log = work / "a.log"
    with client(lab_run(lab_env, work, "a", "--boot-only"), "alice", log) as run:
        code, _ = ended(run, 180)
    assert code == 0, log.read_text()[-4000:]
    boot = json.loads((work / "out" / "latest" / "boot.json").read_text())
    assert (boot["board_kind"], boot["timing"], boot["board"]) == ("virtual", "icount", BOARD)
    assert boot["placement"]["board_kind"] == "virtual"
    assert not VirtualBoardClient(lab.board_url("vboard-1")).powered()
    assert free(lab, "vboard-1") and "lease" not in lab.client().show("vboard-1").tags
    entry = HealthLedger(work / "health" / "health.json").entry("vboard-1")
    assert entry["history"][-1]["kind"] == "run" and entry["history"][-1]["ok"]


def test_b_a_killed_holder_is_recovered_by_the_next_client_without_a_person(lab, work):
    lab_env = env_for(lab, work, "vboard-1")
    hold = ["lab.remote.placement", "--lg-env", str(lab_env), "--lease", str(LEASE_S),
            "--health-dir", str(work / "health")]
    with client([*hold, "--", "sleep", "600"], "alice", work / "b-alice.log") as alice:
        wait_for_line(work / "b-alice.log", r"acquired place vboard-1", alice, 60)
        os.killpg(alice.pid, signal.SIGKILL)  # alice dies holding the place
        alice.wait()
    assert lab.client().show("vboard-1").acquired.endswith("/alice")
    started = time.monotonic()
    with client([*hold, "--acquire-timeout", "120", "--", "true"], "bob",
                work / "b-bob.log") as bob:
        code, _ = ended(bob, RECOVERY_BOUND_S + 60)
    took = time.monotonic() - started
    said = (work / "b-bob.log").read_text()
    print(f"the next client had the place {took:.1f} s after the holder was killed "
          f"(lease {LEASE_S} s, bound {RECOVERY_BOUND_S:.0f} s)")
    assert code == 0, said
    assert took < RECOVERY_BOUND_S, said
    assert re.search(r"waiting: place vboard-1 is acquired by \S+/alice", said), said
    assert "stopped renewing its lease" in said and "kicked it" in said, said
    assert free(lab, "vboard-1")


def test_c_sigterm_stops_a_run_releases_the_place_powers_the_board_off(lab, work):
    lab_env = env_for(lab, work, "vboard-1")
    latest = (work / "out" / "latest").resolve()  # test a's complete run
    log = work / "c.log"
    with client(lab_run(lab_env, work, "c"), "carol", log) as run:
        in_experiment(lab, "vboard-1", log, run)
        run.send_signal(signal.SIGTERM)  # what timeout, systemd and CI send
        code, took = ended(run, 60)
    print(f"SIGTERM: the run ended {took:.1f} s later, status {code}")
    assert code == 143, log.read_text()[-4000:]
    assert "terminated (SIGTERM)" in log.read_text()
    assert free(lab, "vboard-1") and lab.client().reservations() == {}
    assert not VirtualBoardClient(lab.board_url("vboard-1")).powered()
    assert (work / "out" / "latest").resolve() == latest
    assert not (work / "c.sqlite").exists()  # nothing stored


def _failing_run(lab, work, name: str, fault) -> tuple[str, float]:
    """A run on vboard-2 whose board ``fault()`` breaks in its first experiment: what it
    said and how long after the fault it ended."""
    lab_env = env_for(lab, work, "vboard-2")
    log = work / f"{name}.log"
    with client(lab_run(lab_env, work, name), f"user-{name}", log) as run:
        in_experiment(lab, "vboard-2", log, run)
        fault()
        code, took = ended(run, 120)
    said = log.read_text()
    print(f"{name}: the run ended {took:.1f} s after the fault, status {code}")
    assert code == 2, said[-4000:]
    assert took < FAULT_BOUND_S, said[-4000:]
    return said, took


def test_d_qemu_and_exporter_killed_mid_run_are_named_counted_and_tag_the_board_out(lab, work):
    ledger = HealthLedger(work / "health" / "health.json")

    def kill_qemu() -> None:
        os.kill(qemu_of(lab, "vboard-2"), signal.SIGKILL)

    said, _ = _failing_run(lab, work, "d1", kill_qemu)
    assert "QEMU was killed by signal SIGKILL" in said, said[-4000:]
    assert ledger.entry("vboard-2")["consecutive_failures"] == 1

    said, _ = _failing_run(lab, work, "d2", lambda: lab.service(lab.exporter_name).kill())
    assert "the exporter of place vboard-2 is gone" in said, said[-4000:]
    assert ledger.entry("vboard-2")["consecutive_failures"] == 2
    lab.restart_exporter()  # as its supervisor (systemd, Restart=always) would
    if lab.client().show("vboard-2").acquired:  # its holder could not release resources gone
        lab.client().kick("vboard-2")

    said, _ = _failing_run(lab, work, "d3", kill_qemu)
    entry = ledger.entry("vboard-2")
    assert entry["consecutive_failures"] == 3 and entry["status"] == "bad", entry
    assert "TAGGED OUT" in said
    reasons = [h["reason"] for h in entry["history"][-3:]]
    assert "QEMU was killed" in reasons[0] and "exporter" in reasons[1], reasons
    assert lab.client().show("vboard-2").tags["health"] == "bad"


# About a minute of wall time (make test-long): CI's 20 minutes keep the other faults.
@pytest.mark.long
def test_e_coordinator_killed_mid_run_the_run_fails_no_second_holder_bad_stays_bad(lab, work):
    ledger = HealthLedger(work / "health" / "health.json")
    ledger.set_status("vboard-2", "bad", "out, in the ledger")  # as test d left it
    lab_env = env_for(lab, work, "vboard-1")
    latest = (work / "out" / "latest").resolve()
    log = work / "e.log"
    CoordinatorTags(lab.client()).tag_in("vboard-2")  # at the coordinator only: saved as good
    with client(lab_run(lab_env, work, "e"), "erin", log) as run:
        in_experiment(lab, "vboard-1", log, run)
        # labgrid's coordinator saves its places every 15 s: the lease is in places.yaml now
        time.sleep(16.0)
        # a health=bad set seconds before the crash is not in places.yaml
        CoordinatorTags(lab.client()).tag_out("vboard-2", "set just before the crash")
        lab.kill_coordinator()
        lab.restart_coordinator()
        restarted = time.time()
        admin = lab.client()
        saved = admin.show("vboard-2").tags["health"]
        print(f"vboard-2 came back from places.yaml as health={saved}")
        # whatever was saved, the restarted coordinator says good (as it does when the tag
        # was set within labgrid's 15-s save period): the next lab client re-applies bad
        admin.set_tags("vboard-2", {"health": "good"})
        second_log = work / "e-frank.log"
        second = ["lab.remote.placement", "--lg-env", str(lab_env), "--lease", str(LEASE_S),
                  "--health-dir", str(work / "health"), "--acquire-timeout", "120", "--",
                  sys.executable, "-c", "import time; print('HOLDING', time.time(), flush=True)"]
        with client(second, "frank", second_log) as frank:
            code, took = ended(run, 120)
            first_ended = time.time()
            assert ended(frank, 180)[0] == 0, second_log.read_text()
        holding = float(re.search(r"^HOLDING (\S+)$", second_log.read_text(), re.M)[1])
    said = log.read_text()
    print(f"coordinator restarted: the first run ended {first_ended - restarted:.1f} s later "
          f"(status {code}); the second client held the place "
          f"{holding - restarted:.1f} s after the restart")
    assert code == 2, said[-4000:]
    assert "place vboard-1 lost" in said, said[-4000:]
    assert holding > first_ended, "two clients held vboard-1 at once"
    assert (work / "out" / "latest").resolve() == latest  # nothing of the lost run published
    assert not (work / "e.sqlite").exists()  # nor stored
    assert lab.client().show("vboard-2").tags["health"] == "bad"
    assert "re-applied from the ledger" in (work / "e-frank.log").read_text()


def test_f_two_parallel_runs_in_a_row_with_the_same_out_both_succeed(work):
    out = work / "parallel"
    for attempt in (1, 2):
        log = work / f"f{attempt}.log"
        with client(["lab.parallel", "boot", "--boards", "2", "--out", str(out), "default",
                     "irq-routing"], f"user-f{attempt}", log) as run:
            code, took = ended(run, 300)
        print(f"lab.parallel run {attempt} with --out {out}: status {code} in {took:.0f} s")
        assert code == 0, log.read_text()[-4000:]
        assert json.loads((out / "run.json").read_text())["jobs"]


# About a minute of wall time (make test-long): CI's 20 minutes keep the other faults.
@pytest.mark.long
def test_g_a_parallel_job_whose_worker_is_killed_is_retried_once_elsewhere(lab, work):
    from lab.evaluation.experiments import experiment
    from lab.remote.jobs import Job
    from lab.remote.runner import run_parallel

    for place in lab.place_names:  # test e left vboard-2 out; both places serve here
        CoordinatorTags(lab.client()).tag_in(place)
    said: list[str] = []
    killed: list[int] = []

    def kill_the_worker() -> None:  # SIGKILL: the worker cleans nothing up
        for pid in _workers():
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            break

    def progress(line: str) -> None:
        said.append(line)
        if re.search(r"\] schedulable on ", line) and not said_retry(said):
            # the worker is sent the job now: kill it while it runs the job
            timer = threading.Timer(8.0, kill_the_worker)
            timer.daemon = True
            timer.start()

    schedulable = experiment("schedulable")
    run = run_parallel([Job("schedulable", experiment="schedulable",
                            timeout_s=schedulable.timeout_s)],
                       coordinator=lab.coordinator, tags={"board": "virtual", "health": "good"},
                       workers=1, out_dir=work / "retry", board=BOARD, progress=progress)
    text = "\n".join(said)
    print(text)
    assert killed, text
    assert "retrying it once on another place" in text, text
    assert run.failures == {}, (run.failures, text)
    assert run.results["schedulable"].ok
    died_on = re.search(r"died on (\S+);", text)[1]
    assert run.results["schedulable"].place != died_on, text
    assert all(free(lab, place) for place in lab.place_names)


def said_retry(lines: list[str]) -> bool:
    return any("retrying it once" in line for line in lines)


def _workers() -> list[int]:
    """This process's worker children (``python -m lab.remote.worker``)."""
    me = os.getpid()
    found = []
    for task in Path(f"/proc/{me}/task").iterdir():
        for pid in (task / "children").read_text().split():
            if b"lab.remote.worker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
    return found
