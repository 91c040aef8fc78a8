"""The distributed lab, for real, on one machine: coordinator, exporter, places, locks,
reservations and a run spread over two places.

The boards are virtual boards (``lab.remote.virtual_board``): QEMU behind a network
serial port and a network power switch. They test the lab; they say nothing
about hardware. Clients are ``labgrid-client`` processes (and, for booting, a
pytest or a worker process of their own): labgrid keeps one coordinator
session per process, and each client here has its own name at the
coordinator, as two users would.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from getpass import getuser

import pytest
from loopback_fixtures import BOARD, REPO_ROOT, default_image, loopback_lab  # noqa: F401

from lab.evaluation.experiments import experiment, run_experiment
from lab.remote.coordination import (
    ClientError,
    client_env,
    holding,
    place_matches,
    write_yaml,
)
from lab.remote.jobs import Job
from lab.remote.runner import run_parallel
from lab.remote.virtual_board import VirtualBoardClient
from lab.target.records import parse_records

pytestmark = pytest.mark.qemu

ROUND_TRIP_LINE = r"^\[\S+\] core {core}: smc round trip (?P<ok>\d+)/(?P<n>\d+) ok$"


@pytest.fixture
def fresh_place(loopback_lab):
    """A place created for one test on board 1's resources; deleted afterwards."""
    admin = loopback_lab.client()
    names = []

    def create(name: str) -> str:
        admin.create_place(name)
        names.append(name)
        admin.add_match(name, *place_matches(loopback_lab.exporter_name, "vboard-1"))
        return name

    yield create
    for name in names:
        holder = admin.acquired_by(name)
        if holder:
            admin.run("release", "--kick", place=name)
        admin.delete_place(name)


def test_a_client_acquires_a_place_and_boots_ovm_over_the_network_serial(
        loopback_lab, fresh_place, tmp_path):
    alice = loopback_lab.client("alice")
    place = fresh_place("ovm-a")
    alice.acquire(place)
    assert loopback_lab.client().acquired_by(place).endswith("/alice")
    env_file = write_yaml(tmp_path / "alice.yaml", client_env(
        place, loopback_lab.coordinator, ovm_board=BOARD, image=default_image()))
    # An unchanged testcase of the lab, run by a pytest of alice's against the place:
    # OVMStrategy (as VirtualBoardStrategy) boots OVM through NetworkPowerDriver and
    # reads it through SerialDriver on the NetworkSerialPort.
    junit = tmp_path / "junit.xml"
    child = subprocess.run(
        [sys.executable, "-m", "pytest", "--lg-env", str(env_file), "-p", "no:cacheprovider",
         "-q", f"--junitxml={junit}", "testcases/boot/test_world_switch.py"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        env={**alice.environ(), "PYTHONDONTWRITEBYTECODE": "1"})
    assert child.returncode == 0, child.stdout[-4000:] + child.stderr[-2000:]
    suite = ET.parse(junit).getroot().find("testsuite")
    assert (int(suite.get("tests")), int(suite.get("failures")), int(suite.get("errors")),
            int(suite.get("skipped"))) == (7, 0, 0, 0), child.stdout[-4000:]
    # the banner and both cores' SMC round trips went over the network serial
    names = {case.get("name") for case in suite.iter("testcase")}
    assert {"test_banner_reports_every_core_up",
            "test_smc_round_trip_returns_to_the_guest_on_each_core"} <= names

    board = VirtualBoardClient(loopback_lab.board_url("vboard-1"))  # ovm-a holds its resources
    assert board.powered()  # left on by the test, as a board would be
    assert alice.power(place, "off") == ""
    assert not board.powered()
    alice.release(place)
    assert loopback_lab.client().acquired_by(place) is None


def test_b_a_held_place_cannot_be_acquired_by_another_client_until_released(
        loopback_lab, fresh_place):
    alice, bob = loopback_lab.client("alice"), loopback_lab.client("bob")
    place = fresh_place("ovm-b")
    alice.acquire(place)
    with pytest.raises(ClientError) as refused:
        bob.acquire(place)
    assert f"Place {place} is already acquired by" in refused.value.output
    assert "/alice" in refused.value.output, refused.value.output
    with pytest.raises(ClientError, match="acquired by a different user"):
        bob.release(place)
    alice.release(place)
    bob.acquire(place)
    assert loopback_lab.client().acquired_by(place).endswith("/bob")
    bob.release(place)


def test_c_reservations_by_tags_are_served_one_after_the_other(loopback_lab):
    alice, bob = loopback_lab.client("alice"), loopback_lab.client("bob")
    first = alice.reserve({"board": "virtual", "slot": "1"})
    second = None
    try:
        place = alice.wait(first, timeout=20).place
        assert place == "vboard-1"
        alice.acquire(place)
        second = bob.reserve({"board": "virtual", "slot": "1"})
        assert bob.reservation(second).state == "waiting"
        with pytest.raises(ClientError, match="already acquired"):
            bob.acquire(place)
        # released but still reserved: alice may take it again, bob may not
        alice.release(place)
        assert (alice.reservation(first).state, bob.reservation(second).state) == (
            "allocated", "waiting")
        with pytest.raises(ClientError, match="not reserved for .*/bob"):
            bob.acquire(place)
        alice.acquire(place)
        # alice is done: cancel, then release (as lab.remote.coordination.holding does)
        alice.cancel(first)
        first = None
        alice.release(place)
        served = bob.wait(second, timeout=20)
        assert (served.state, served.place) == ("allocated", "vboard-1")
        bob.acquire(place)
        assert bob.reservation(second).state == "acquired"
        bob.cancel(second)
        second = None
        bob.release(place)
    finally:
        for client, token in ((alice, first), (bob, second)):
            if token:
                client.cancel(token)
    assert alice.reservations() == {}


def test_c_holding_keeps_two_workers_of_one_user_off_one_board(loopback_lab):
    periods: dict[str, tuple[float, float]] = {}
    errors: list[BaseException] = []

    def work(user: str) -> None:
        try:
            with holding(loopback_lab.client(user), {"slot": "2"}, timeout=30) as held:
                start = time.monotonic()
                assert (held.place, held.state) == ("vboard-2", "acquired")
                time.sleep(1.0)
                periods[user] = (start, time.monotonic())
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    # one user, two workers: each its own name at the coordinator
    workers = [threading.Thread(target=work, args=(f"{getuser()}-w{i}",)) for i in (1, 2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert not errors, errors
    (a_start, a_end), (b_start, b_end) = sorted(periods.values())
    assert a_end <= b_start, periods  # one after the other, never both
    assert loopback_lab.client().acquired_by("vboard-2") is None
    assert loopback_lab.client().reservations() == {}


def test_d_a_run_spread_over_two_places_is_merged_into_one(loopback_lab, tmp_path):
    until = [ROUND_TRIP_LINE.format(core=core) for core in (0, 1)]
    jobs = [Job.boot("default", until, name="default"),
            Job.boot("irq-routing", name="irq-routing")]
    run = run_parallel(jobs, coordinator=loopback_lab.coordinator, tags={"board": "virtual"},
                       workers=2, out_dir=tmp_path, board=BOARD, progress=lambda _: None)
    assert run.failures == {} and run.worker_errors == {}, (run.failures, run.worker_errors)
    # both places were held, one worker each, and each says what it is
    assert set(run.places) == {"vboard-1", "vboard-2"}
    assert len({info["worker"] for info in run.places.values()}) == 2
    for place, info in run.places.items():
        provenance = info["provenance"]
        assert provenance["place"] == place
        assert (provenance["board"], provenance["board_kind"], provenance["timing"],
                provenance["icount_shift"]) == (BOARD, "virtual", "icount", 4)
        assert "not hardware" in provenance["kind"]
    default = run.results["default"]
    assert default.banner["scenario"] == "default" and default.banner["cores_up"] == 2
    assert [line["ok"] for line in default.lines.values()] == ["3", "3"]
    assert run.results["irq-routing"].banner["scenario"] == "irq-routing"
    assert {r.place for r in run.results.values()} <= set(run.places)
    # one run on disk: every job, where it ran, its log
    written = json.loads((tmp_path / "run.json").read_text())
    assert [job["name"] for job in written["jobs"]] == ["default", "irq-routing"]
    assert set(written["places"]) == {"vboard-1", "vboard-2"}
    assert "smc round trip 3/3 ok" in (tmp_path / "default.log").read_text()
    # every worker gave its place back
    admin = loopback_lab.client()
    assert [admin.acquired_by(p) for p in ("vboard-1", "vboard-2")] == [None, None]
    assert admin.reservations() == {}


def test_e_a_virtual_board_measures_what_the_local_qemu_target_measures(
        loopback_lab, target, tmp_path):
    """The virtual board is QEMUDriver's machine: the same samples, instruction for instruction."""
    hrt = experiment("hrt")
    run = run_parallel([Job("hrt", experiment="hrt", timeout_s=hrt.timeout_s)],
                       coordinator=loopback_lab.coordinator, tags={"board": "virtual"}, workers=1,
                       out_dir=tmp_path / "remote", board=BOARD, progress=lambda _: None)
    assert run.failures == {}, run.failures
    strategy = target.get_driver("OVMStrategy")
    try:
        local = run_experiment(hrt, strategy, BOARD, REPO_ROOT, tmp_path / "local", lambda _: None)
    finally:
        strategy.select_image(None)
    remote = parse_records(run.results["hrt"].console).samples("irq_latency.direct")
    assert len(remote) == 1000
    assert remote["value"].tolist() == local.records.samples("irq_latency.direct")["value"].tolist()


def test_f_the_serial_port_is_there_when_the_board_is_off_and_never_blocks_it(loopback_lab):
    """No client: QEMU's output is drained (the boot completes); a client connected before
    power-on sees the boot from its first line, and nothing of an earlier boot."""
    board = VirtualBoardClient(loopback_lab.board_url("vboard-2"))
    serial_port = next(b.serial_port for b in loopback_lab.virtual_boards if b.group == "vboard-2")
    admin = loopback_lab.client("admin")
    admin.acquire("vboard-2")
    try:
        board.set_image(default_image())
        admin.power("vboard-2", "on")  # nobody on the serial port
        time.sleep(1.0)
        assert board.powered()
        with socket.create_connection(("127.0.0.1", serial_port), timeout=5) as console:
            admin.power("vboard-2", "off")
            admin.power("vboard-2", "on")
            text = _read_until(console, b"OVM timer events taken in monitor mode while this "
                                        b"guest ran", 20)
        admin.power("vboard-2", "off")
    finally:
        admin.release("vboard-2")
    lines = [line for line in text.decode().splitlines() if line]
    assert lines[0].startswith("[ovm] OVM 0.2.0 booting on qemu-vexpress-a9"), lines[:3]
    assert sum(line.startswith("OVM 0.2.0 board=") for line in lines) == 1


def _read_until(sock: socket.socket, marker: bytes, timeout_s: float) -> bytes:
    received = b""
    deadline = time.monotonic() + timeout_s
    while received.count(marker) < 2 and time.monotonic() < deadline:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        received += chunk
    return received
