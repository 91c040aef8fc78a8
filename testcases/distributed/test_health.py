"""Board health: a place that fails its health check repeatedly is tagged out.

The place's board is ``ScriptedZC702``, **a scripted stand-in for a ZC702**
(U-Boot's dialogue on a pty, then a banner or nothing), booted through the
real ``ZC702Strategy``; the place is a real place on a ``labgrid-coordinator``
started here on loopback, so the tags and comments are the coordinator's.
"""

from __future__ import annotations

import json

import pytest
from zc702_standin import (
    REMOTE_ENV,
    ScriptedZC702,
    create_place,
    ovm_banner,
    standin_env,
    zc702_image,
)

from lab.remote.coordination import LabClient
from lab.remote.health_ledger import CoordinatorTags, HealthLedger, check_place, restore
from lab.remote.placement import QEMU_ENV, choose_environment

PLACE = "zc702-standin"

pytestmark = pytest.mark.usefixtures("no_lab_variables")


@pytest.fixture
def place(lab_coordinator):
    create_place(lab_coordinator, PLACE, board="zc702", health="good")
    yield PLACE
    LabClient(lab_coordinator).delete_place(PLACE)


@pytest.fixture
def board(tmp_path):
    """The place's board: a scripted stand-in, and the environment that drives it."""
    image = zc702_image("default")
    (tmp_path / "tftp").mkdir()
    standin = ScriptedZC702(tftp_root=tmp_path / "tftp", control=tmp_path / "power")
    standin.env_file = standin_env(tmp_path / "standin.yaml", standin, image=image,
                                   boot_timeout=0.5, place=PLACE)
    standin.image = image
    yield standin
    standin.close()


def test_place_failing_repeatedly_is_tagged_out_with_reason_and_log(
        board, place, lab_coordinator, tmp_path):
    coordinator_client = LabClient(lab_coordinator)
    ledger = HealthLedger(tmp_path / "health" / "health.json")
    tags = CoordinatorTags(coordinator_client)
    # The image boots to U-Boot's `go`, then prints nothing: no banner.

    results = [check_place(board.env_file, place, ledger=ledger, tagger=tags, threshold=3,
                           log_dir=tmp_path / "health") for _ in range(3)]

    assert [r.ok for r in results] == [False, False, False]
    assert [r.consecutive_failures for r in results] == [1, 2, 3]
    assert [r.tagged_out for r in results] == [False, False, True]
    reason = results[-1].reason
    assert reason.startswith("OVM's boot banner: not seen within 0.5 s after `go 0x10000000`")
    log = results[-1].log.read_text()
    assert "Hit any key to stop autoboot" in log and "## Starting application at 0x10000000" in log
    assert len(list((tmp_path / "health" / place).glob("*-fail.log"))) == 3, "every failure's log kept"

    shown = coordinator_client.show(place)
    assert shown.tags == {"board": "zc702", "health": "bad"}
    assert "3 health checks failed in a row" in shown.comment
    assert "OVM's boot banner" in shown.comment and str(results[-1].log) in shown.comment
    entry = json.loads(ledger.path.read_text())["places"][place]
    assert entry["status"] == "bad" and entry["consecutive_failures"] == 3
    assert entry["last_failure"]["log"] == str(results[-1].log)
    assert not board.settle().powered

    # Out of the pool: no reservation hands it out, so runs fall back instead of failing.
    placement = choose_environment(REMOTE_ENV, fallback_qemu=True, acquire_timeout=0.5,
                                   coordinator=lab_coordinator, log=lambda line: None)
    assert placement.fallback and placement.env_file == QEMU_ENV
    assert LabClient(lab_coordinator).show(place).acquired is None

    # Asked for by name, it is refused at once with the reason.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LG_PLACE", place)
        placement = choose_environment(REMOTE_ENV, fallback_qemu=True, acquire_timeout=5,
                                       coordinator=lab_coordinator, log=lambda line: None)
    assert placement.fallback and "is tagged out (health=bad)" in placement.reason
    assert placement.waited_s < 3

    restore(place, ledger=ledger, tagger=tags)  # someone fixed the board
    assert coordinator_client.show(place).tags["health"] == "good"
    assert ledger.entry(place)["status"] == "good"


def test_passing_place_stays_in_and_a_pass_ends_a_run_of_failures(
        board, place, lab_coordinator, tmp_path):
    coordinator_client = LabClient(lab_coordinator)
    ledger = HealthLedger(tmp_path / "health.json")
    tags = CoordinatorTags(coordinator_client)

    failed = check_place(board.env_file, place, ledger=ledger, tagger=tags, threshold=2,
                         log_dir=tmp_path)
    assert not failed.ok and failed.consecutive_failures == 1 and not failed.tagged_out

    board.register(board.image.read_bytes(), ovm_banner("default"))  # the board is well again
    patient = standin_env(tmp_path / "patient.yaml", board, image=board.image, boot_timeout=10,
                          place=PLACE)  # a busy host must not turn a pass into a failure
    passed = check_place(patient, place, ledger=ledger, tagger=tags, threshold=2,
                         log_dir=tmp_path)
    assert passed.ok and passed.reason == "" and passed.consecutive_failures == 0
    assert "OVM 0.2.0 board=zc702 scenario=default" in passed.log.read_text()
    assert passed.seconds < 5
    entry = ledger.entry(place)
    assert entry["status"] == "good" and entry["checks"] == 2
    assert [h["ok"] for h in entry["history"]] == [False, True]
    assert coordinator_client.show(place).tags == {"board": "zc702", "health": "good"}
    assert not board.settle().powered, "a health check leaves the board off"


def test_placement_releases_a_place_that_fails_its_health_check_and_takes_another(
        place, lab_coordinator):
    create_place(lab_coordinator, "zc702-spare", board="zc702", health="good")
    coordinator_client = LabClient(lab_coordinator)
    checked = []

    def first_one_fails(placement):
        checked.append(placement.place)
        assert coordinator_client.show(placement.place).acquired, "held while checked"
        return (False, "no banner") if len(checked) == 1 else (True, "")

    try:
        placement = choose_environment(REMOTE_ENV, fallback_qemu=True, acquire_timeout=30,
                                       coordinator=lab_coordinator, health_check=first_one_fails,
                                       log=lambda line: None)
        try:
            assert len(checked) == 2 and set(checked) == {place, "zc702-spare"}
            failed, passed = checked
            assert not placement.fallback and placement.place == passed
            assert coordinator_client.show(failed).acquired is None, "the failing one released"
            assert coordinator_client.show(passed).acquired
        finally:
            placement.release()
        assert coordinator_client.show(passed).acquired is None
        assert coordinator_client.reservations() == {}
    finally:
        coordinator_client.delete_place("zc702-spare")
