"""``make lab``'s linux_host experiment, run as the evaluation runs it: Debian's kernel
natively and under OVM (scenario linux-host), cyclictest in both, the vCPU switches
SRT <-> Linux, the SRT's deadlines with Linux under hackbench. About three minutes of
wall time: marked ``long`` (``make test-long``).

Asserted: what holds whatever QEMU's round robin decides (counts, orderings, the
kernel, the consoles kept, the summary's keys and provenance). The figures are printed:
they do not repeat to the instruction (lab.evaluation.linux_host says why).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from linux_boot import debian_release, needs_linux_files, report

from lab.evaluation.linux_host import (
    CYCLICTEST_LOOPS,
    DEADLINE_PERIODS,
    SWITCH_GAPS,
    run_linux_host,
    summary_section,
)
from lab.firmware.loader import load_board
from lab.paths import OVM_DIR
from lab.results.statistics import Timebase

pytestmark = [pytest.mark.lab, pytest.mark.qemu, pytest.mark.long]


@pytest.fixture(scope="module")
def hosted(env, target, tmp_path_factory):
    needs_linux_files()
    board = env.config.get_option("ovm_board", None)
    out = tmp_path_factory.mktemp("linux-host-experiment")
    result = run_linux_host(target, board, Path(env.config_file), out, progress=lambda _: None)
    timebase = Timebase(load_board(OVM_DIR, board).private_timer_hz, 4)
    return result, summary_section(result, timebase, 4), out


def test_the_summary_section_is_json_with_its_provenance(hosted):
    _, section, _ = hosted
    assert json.loads(json.dumps(section)) == section
    assert section["kernel"] == debian_release()
    assert section["timing"] == {**section["timing"], "timing": "icount", "icount_shift": 4,
                                 "repeatable": False}


def test_cyclictest_ran_whole_natively_and_under_ovm(hosted, pytestconfig):
    _, section, _ = hosted
    for side in ("native", "ovm"):
        figures = section["cyclictest_ns"][side]
        assert figures["n"] == CYCLICTEST_LOOPS and figures["overflows"] == 0
        assert 0 < figures["min"] <= figures["mean"] <= figures["max"]
        assert figures["min"] <= figures["p99"] <= figures["max"]
    report(pytestconfig, "[linux_host] cyclictest ns min/mean/max/p99: " + "; ".join(
        f"{side} " + "/".join(f"{section['cyclictest_ns'][side][k]:.0f}"
                              for k in ("min", "mean", "max", "p99"))
        for side in ("native", "ovm")))


def test_the_switches_pair_srt_jobs_with_linux_gaps(hosted, pytestconfig):
    result, section, _ = hosted
    switch = section["context_switch_ns"]
    # Most of switchprobe's gaps are SRT jobs (Linux's own interrupts are the rest), and a
    # switch is timed from two reads on one clock, so it takes some time, both ways.
    for direction in ("to_linux", "to_srt"):
        figures = switch[direction]
        assert figures["n"] >= SWITCH_GAPS // 2
        assert 0 < figures["min"] <= figures["p50"] <= figures["max"]
    assert result.switches.yielding.size == result.switches.preempting.size
    report(pytestconfig, "[linux_host] switch ns min/p50/max: " + "; ".join(
        f"{d} " + "/".join(f"{switch[d][k]:.0f}" for k in ("min", "p50", "max"))
        for d in ("to_linux", "to_srt")))


def test_the_srt_was_counted_over_its_periods_with_linux_loaded(hosted, pytestconfig):
    _, section, _ = hosted
    deadline = section["deadline"]
    assert deadline["periods"] >= DEADLINE_PERIODS
    assert deadline["done"] == deadline["periods"]
    assert 0 <= deadline["misses"] <= deadline["periods"]
    report(pytestconfig, f"[linux_host] SRT with Linux loaded: {deadline['misses']} misses in "
                         f"{deadline['periods']} periods")


def test_every_console_is_kept(hosted):
    _, _, out = hosted
    assert "cyclictest" in (out / "linux_host-native.txt").read_text()
    linux = (out / "linux_host-linux.txt").read_text()
    assert "switchprobe: gaps=" in linux and "hackbench" in linux
    assert "[srt] " in (out / "linux_host.log").read_text()
