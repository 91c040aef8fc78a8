"""The paper's evaluation spread over two places of the loopback lab and merged into one
summary (``python -m lab.parallel evaluate``), without the Linux baseline (that one
runs on the controlling machine, as in ``make lab``). About 25 s.

The places are virtual boards: QEMU, a way to test the lab, not hardware.
"""

from __future__ import annotations

import json

import pytest
from loopback_fixtures import BOARD, REPO_ROOT, loopback_lab  # noqa: F401

from lab.evaluation.experiments import EXPERIMENTS
from lab.remote.jobs import evaluation_jobs
from lab.remote.merge import merged_evaluation
from lab.remote.runner import run_parallel

pytestmark = pytest.mark.qemu


# The whole evaluation over two places (make test-long); make test keeps the loopback
# lab's spread run (test_loopback_lab) and the parallel runs of test_faults.
@pytest.mark.long
def test_the_evaluation_spread_over_two_places_merges_into_one_summary(loopback_lab, tmp_path):
    run = run_parallel(evaluation_jobs(), coordinator=loopback_lab.coordinator,
                       tags={"board": "virtual"}, workers=2, out_dir=tmp_path, board=BOARD,
                       progress=lambda _: None)
    assert run.failures == {} and run.worker_errors == {}, (run.failures, run.worker_errors)
    evaluation = merged_evaluation(run, out_dir=tmp_path, linux=False,
                                   progress=lambda _: None)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary == json.loads(json.dumps(evaluation.summary))
    assert (summary["board"], summary["board_kind"], summary["timing"], summary["icount_shift"]) == (
        BOARD, "virtual", "icount", 4)
    # every experiment ran once, on one of the two places, and the summary says where
    placed = summary["places"]["experiments"]
    # The Linux experiments are make lab's only (lab.remote.jobs.evaluation_jobs).
    assert set(placed) == {e.name for e in EXPERIMENTS if not e.linux}
    assert set(placed.values()) <= {"vboard-1", "vboard-2"}
    assert set(summary["places"]["provenance"]) == {"vboard-1", "vboard-2"}
    # the figures are complete: every level's 1,000 samples, both switch directions, both
    # deadline experiments
    for level in ("native", "HRT", "HRT_user", "SRT", "NRT"):
        assert summary["irq_latency_ns"][level]["n"] == 1000
    assert summary["context_switch_ns"]["ovm"]["n"] == 1000
    assert summary["deadline"]["schedulable"] == {"periods": 10000, "misses": 0, "handler_runs": 0}
    assert summary["deadline"]["overload"]["misses"] == summary["deadline"]["overload"]["detected"]
    # and they order as on one target: forwarded interrupts are slower than direct ones
    latency = summary["irq_latency_ns"]
    assert latency["SRT"]["min"] > latency["HRT"]["max"]
    assert "linux" not in summary["context_switch_ns"]
