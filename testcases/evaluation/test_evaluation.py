"""The paper's evaluation (what ``make lab`` runs), checked.

The evaluation runs once for the module (each experiment one boot, plus the
Linux baseline on QEMU). Orderings and deadline facts hold on any target;
the instruction-exact facts hold under QEMU's ``-icount`` and are marked
``qemu``. Figures: virtual ns of QEMU's clock, 2^shift ns per instruction.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lab.evaluation.evaluate import run_evaluation
from lab.firmware.loader import load_board, load_scenario

pytestmark = pytest.mark.lab

REPO_ROOT = Path(__file__).resolve().parents[2]
# The forwarding path (monitor entry, routing, injection) may add this much over
# the direct path; the paper's SRT/NRT paths added 56-80 cycles at 800 MHz.
FORWARDING_BOUND_INSTRUCTIONS = 60
# The paper's ratio of OVM's vCPU switch to Linux's process switch (280 / 720 ns).
SWITCH_RATIO_BOUND = 0.39
DETECTION_BOUND_NS = 200_000
IO_PATHS = ("passthrough", "ovm_proxy", "host_proxy")  # the cheapest first


def _evaluate(target, env, out: Path) -> dict:
    # Without linux_host (minutes of Linux): testcases/linux/test_linux_host_experiment
    # runs it, under make test-long.
    return run_evaluation(target, Path(env.config_file), out, linux_host=False).summary


@pytest.fixture(scope="module")
def evaluation(target, env, tmp_path_factory):
    out = tmp_path_factory.mktemp("evaluation")
    summary = _evaluate(target, env, out)
    return summary, out


@pytest.fixture(scope="module")
def summary(evaluation):
    return evaluation[0]


def _instructions(summary: dict, ns: float) -> float:
    return ns / 2 ** summary["icount_shift"]


def test_summary_json_has_the_agreed_keys_and_says_where_it_came_from(evaluation):
    summary, out = evaluation
    written = json.loads((out / "summary.json").read_text())
    assert written == json.loads(json.dumps(summary))
    for key in ("board", "timing", "icount_shift", "commit"):
        assert key in written
    assert written["timing"] in ("icount", "real")
    for level in ("native", "HRT", "HRT_user", "SRT", "NRT"):
        assert set(written["irq_latency_ns"][level]) >= {"n", "min", "mean", "max", "p99"}
        assert written["irq_latency_ns"][level]["n"] == 1000
    for kind in ("ovm",):
        assert written["context_switch_ns"][kind]["n"] == 1000
    assert set(written["deadline"]["schedulable"]) >= {"periods", "misses"}
    assert set(written["deadline"]["overload"]) >= {"misses", "detected", "max_detect_ns"}
    for path in IO_PATHS:
        assert set(written["io_cost_ns"][path]) >= {"n", "min", "mean", "max", "p50", "p99"}
        assert written["io_cost_ns"][path]["n"] == 100
    assert set(written["console_sharing"]["quiet"]) >= {"max_delay_ns", "bound_ns", "throttled"}
    assert set(written["console_sharing"]["chatty"]) >= {"lines", "throttled"}
    assert written["method"]["io_cost"] and written["method"]["console_sharing"]
    for name in ("native", "hrt", "hrt_user", "shared", "schedulable", "overload",
                 "io_passthrough", "io_proxy"):
        assert (out / f"{name}.log").stat().st_size > 0
    for name in ("native", "hrt", "hrt_user", "shared", "io_passthrough", "io_proxy"):
        assert "@ovm1 E " in (out / f"{name}.log").read_text()


def test_forwarded_interrupts_are_slower_than_direct_ones(summary):
    latency = summary["irq_latency_ns"]
    assert latency["SRT"]["min"] > latency["HRT"]["max"]
    assert latency["NRT"]["min"] > latency["HRT"]["max"]


def test_schedulable_srt_misses_no_deadline_in_10000_periods(summary):
    schedulable = summary["deadline"]["schedulable"]
    assert schedulable["periods"] >= 10000
    assert schedulable["misses"] == 0


def test_overload_every_miss_is_detected_within_200_us(summary):
    overload = summary["deadline"]["overload"]
    assert overload["jobs"] == 100
    assert overload["misses"] == 100
    assert overload["detected"] == overload["misses"]
    assert 0 < overload["max_detect_ns"] <= DETECTION_BOUND_NS


def test_passthrough_is_far_cheaper_than_ovm_which_is_cheaper_than_the_host(summary):
    io = summary["io_cost_ns"]
    passthrough, ovm, host = (io[path] for path in IO_PATHS)
    # No OVM on the passthrough path: its usual cost is below the OVM proxy's least.
    assert passthrough["p50"] < ovm["min"]
    assert passthrough["min"] < ovm["min"] < host["min"]
    assert passthrough["p50"] < ovm["p50"] < host["p50"]
    # The host proxy adds a round trip through the host on the other core to OVM's path.
    assert ovm["p50"] < host["min"]


def test_quiet_console_lines_wait_at_most_two_rounds_and_chatty_is_throttled(summary):
    quiet = summary["console_sharing"]["quiet"]
    chatty = summary["console_sharing"]["chatty"]
    # The sharing promises a line within its VM's share two rounds of io-proxy's console.
    board = load_board(REPO_ROOT / "ovm", summary["board"])
    round_us = load_scenario(REPO_ROOT / "ovm", "io-proxy", board).console.round_us
    assert quiet["bound_ns"] == 2 * round_us * 1000
    assert quiet["lines"] > 0
    assert 0 < quiet["max_delay_ns"] <= quiet["bound_ns"]
    assert quiet["throttled"] == 0  # within its share: never refused
    assert chatty["lines"] > 0
    assert chatty["throttled"] > 0  # over its share: refused, not delaying the quiet VM


@pytest.mark.qemu
def test_passthrough_is_the_same_instructions_every_access_under_icount(summary):
    # One MMIO read with no OVM on the path: every sample is the same instruction count,
    # which the 10 ns timer tick reads as one of two neighbouring ticks (16 ns/instruction).
    passthrough = summary["io_cost_ns"]["passthrough"]
    tick_ns = 1e9 / summary["timer_hz"]
    assert passthrough["max"] - passthrough["min"] <= tick_ns
    assert {"min", "mean", "max", "p99"} <= set(passthrough["instructions"])
    for path in IO_PATHS:
        figures = summary["io_cost_ns"][path]
        assert figures["instructions"]["min"] == round(_instructions(summary, figures["min"]), 1)


@pytest.mark.qemu
def test_native_latency_is_one_exact_figure_under_icount(summary):
    native = summary["irq_latency_ns"]["native"]
    assert native["min"] == native["max"]
    assert _instructions(summary, native["min"]) < 20


@pytest.mark.qemu
def test_hrt_latency_distribution_equals_native(evaluation):
    summary, out = evaluation
    from lab.target.records import parse_records

    def samples(log: str) -> np.ndarray:
        records = parse_records((out / log).read_text())
        return records.samples("irq_latency.direct")["value"].to_numpy()

    native, hrt = samples("native.log"), samples("hrt.log")
    assert len(native) == len(hrt) == 1000
    assert np.array_equal(np.sort(native), np.sort(hrt))
    assert summary["irq_latency_ns"]["HRT"] == summary["irq_latency_ns"]["native"]


# privilege: user puts OVM on the HRT's path (FIQ to the monitor, the upcall through the
# shim); nothing else runs on its core, so every sample is that one path, within the
# forwarding bound of the SRT and NRT paths.
@pytest.mark.qemu
def test_hrt_in_user_mode_is_one_exact_figure_within_the_forwarding_bound(summary):
    latency = summary["irq_latency_ns"]
    user = latency["HRT_user"]
    assert user["n"] == 1000
    assert user["min"] == user["max"]
    assert user["min"] > latency["HRT"]["max"]
    added = _instructions(summary, user["max"] - latency["native"]["min"])
    assert added <= FORWARDING_BOUND_INSTRUCTIONS


# SRT: its timer always expires inside its own job, so (nearly) every sample is the
# forwarding path; the few above it (under 1%, a handful of instructions) are where QEMU's
# icount let the expiry land, and change with the binary's layout: bound up to p99.
# NRT: while it holds the core its timer usually finds it in its own code (the forwarding
# path: min and median); the tail is the timer expiring while OVM works for the NRT (a
# hypercall, a tick), with FIQs masked in the monitor: bound up to p50.
@pytest.mark.qemu
@pytest.mark.parametrize("level, typical", [("SRT", "p99"), ("NRT", "p50")])
def test_forwarding_adds_at_most_60_instructions_over_native(summary, level, typical):
    latency = summary["irq_latency_ns"]
    native = latency["native"]["min"]
    assert 0 < _instructions(summary, latency[level]["min"] - native) <= FORWARDING_BOUND_INSTRUCTIONS
    assert _instructions(summary, latency[level][typical] - native) <= FORWARDING_BOUND_INSTRUCTIONS


@pytest.mark.qemu
def test_deferred_nrt_interrupts_wait_for_the_next_dispatch(summary):
    deferred = summary["irq_deferred_ns"]["NRT"]
    assert deferred["n"] > 0
    # At most one SRT job (300 us) plus the switch back to the NRT.
    assert deferred["max"] <= 400_000
    # Typically much longer than one delivered at once. Not every one: the probe calls an
    # interrupt deferred when its loop saw a gap, and a timer expiring just as the NRT
    # comes back is delivered at once after such a gap.
    assert deferred["p50"] > 10 * summary["irq_latency_ns"]["NRT"]["p99"]


@pytest.mark.qemu
def test_ovm_vcpu_switch_is_at_most_039_of_linux_process_switch(summary):
    switch = summary["context_switch_ns"]
    assert switch["linux"]["n"] == 1000
    assert switch["ovm"]["mean"] <= SWITCH_RATIO_BOUND * switch["linux"]["mean"]
    assert switch["ovm_to_linux_mean_ratio"] <= SWITCH_RATIO_BOUND


@pytest.mark.qemu
def test_every_result_is_stamped_icount_with_its_shift(summary):
    assert summary["board_kind"] == "qemu"
    assert summary["timing"] == "icount"
    assert summary["icount_shift"] == 4
    assert {"native", "hrt", "hrt_user", "shared", "schedulable", "overload", "io_passthrough",
            "io_proxy"} <= set(summary["builds"])
    assert set(summary["builds"].values()) == {summary["commit"]}


@pytest.mark.qemu
def test_a_second_run_gives_the_same_summary(evaluation, target, env, tmp_path_factory):
    first, _ = evaluation
    second = _evaluate(target, env, tmp_path_factory.mktemp("evaluation-again"))
    assert second == first
