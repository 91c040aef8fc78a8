"""Trends and regression detection over stored runs (lab.results.trend)."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lab.evaluation.summary import PAPER
from lab.results.schema import SAMPLE_COLUMNS, SCALAR_COLUMNS, RunInfo
from lab.results.store import ResultStore
from lab.results.trend import (
    METRICS,
    NoiseBand,
    detect,
    figures_frame,
    run_figures,
    worst_case_series,
)

BASE_SUMMARY = {
    "irq_latency_ns": {level: {"n": 1000, "min": low, "mean": low, "max": high, "p99": high}
                       for level, low, high in (("native", 200.0, 200.0), ("HRT", 200.0, 200.0),
                                                ("HRT_user", 960.0, 960.0), ("SRT", 1070.0, 1080.0), ("NRT", 1110.0, 22240.0))},
    "irq_deferred_ns": {"NRT": {"n": 462, "max": 325080.0}},
    "context_switch_ns": {"ovm": {"mean": 11364.6, "max": 33950.0},
                          "ovm_preempt": {"mean": 10960.3}},
    "deadline": {"schedulable": {"periods": 10000, "misses": 0},
                 "overload": {"jobs": 100, "misses": 100, "detected": 100, "max_detect_ns": 1900.0}},
    "io_cost_ns": {"passthrough": {"n": 100, "mean": 144.9, "max": 150.0},
                   "ovm_proxy": {"n": 100, "mean": 14211.6, "max": 51510.0},
                   "host_proxy": {"n": 100, "mean": 141245.2, "max": 869470.0}},
    "console_sharing": {"quiet": {"lines": 100, "max_delay_ns": 10006400.0,
                                  "bound_ns": 20000000.0, "throttled": 0},
                        "chatty": {"lines": 39, "throttled": 281, "max_delay_ns": 47475350.0}},
    "paper": PAPER,
}


def _store_run(store: ResultStore, index: int, summary: dict, *, timing: str = "icount",
               board: str = "qemu-vexpress-a9", commit: str | None = None) -> RunInfo:
    started = 1_800_000_000_000_000_000 + index * 86_400_000_000_000
    commit = commit or f"c{index:03d}"
    run = RunInfo(RunInfo.new_id(started, commit), started, board,
                  "qemu" if board.startswith("qemu") else "zc702", timing,
                  4 if timing == "icount" else None, commit, "nightly")
    store.add_run(run, pd.DataFrame(columns=SAMPLE_COLUMNS), pd.DataFrame(columns=SCALAR_COLUMNS),
                  summary)
    return run


@pytest.fixture
def store(tmp_path: Path) -> ResultStore:
    return ResultStore(tmp_path / "results.sqlite")


def test_identical_icount_runs_raise_nothing(store: ResultStore) -> None:
    for night in range(6):
        _store_run(store, night, BASE_SUMMARY)
    assert detect(figures_frame(store)) == []


def test_one_more_instruction_on_the_srt_path_is_a_regression_under_icount(store) -> None:
    runs = [_store_run(store, night, BASE_SUMMARY) for night in range(5)]
    worse = copy.deepcopy(BASE_SUMMARY)
    worse["irq_latency_ns"]["SRT"]["max"] += 16.0  # one instruction at shift 4
    newest = _store_run(store, 5, worse, commit="badc0de")
    found = detect(figures_frame(store))
    assert [r.metric.path for r in found] == ["irq_latency_ns.SRT.max"]
    text = found[0].describe()
    assert "badc0de" in text and newest.run_id in text
    assert all(run.run_id in text for run in runs)
    assert "1096" in text and "1080" in text


def test_a_slower_io_path_or_console_is_a_regression_under_icount(store) -> None:
    for night in range(3):
        _store_run(store, night, BASE_SUMMARY)
    worse = copy.deepcopy(BASE_SUMMARY)
    worse["io_cost_ns"]["host_proxy"]["mean"] += 16.0
    worse["io_cost_ns"]["passthrough"]["max"] += 10.0
    worse["console_sharing"]["quiet"]["max_delay_ns"] += 10.0
    _store_run(store, 3, worse)
    assert [r.metric.path for r in detect(figures_frame(store))] == [
        "io_cost_ns.passthrough.max", "io_cost_ns.host_proxy.mean",
        "console_sharing.quiet.max_delay_ns"]
    # A run without the I/O experiments is no regression: those figures are not measured.
    older = copy.deepcopy(BASE_SUMMARY)
    del older["io_cost_ns"], older["console_sharing"]
    _store_run(store, 4, older)
    assert detect(figures_frame(store)) == []


def test_an_undetected_overload_miss_is_a_regression(store) -> None:
    for night in range(3):
        _store_run(store, night, BASE_SUMMARY)
    worse = copy.deepcopy(BASE_SUMMARY)
    worse["deadline"]["overload"]["detected"] = 99
    _store_run(store, 3, worse)
    assert [r.metric.path for r in detect(figures_frame(store))] == ["deadline.overload.undetected"]


def test_an_improvement_is_no_regression(store) -> None:
    for night in range(3):
        _store_run(store, night, BASE_SUMMARY)
    better = copy.deepcopy(BASE_SUMMARY)
    better["context_switch_ns"]["ovm"]["mean"] -= 500
    _store_run(store, 3, better)
    assert detect(figures_frame(store)) == []


def test_real_board_noise_within_the_band_stays_quiet_and_beyond_it_is_flagged(store) -> None:
    for night, jitter in enumerate((0, 12, -8, 5, -3)):
        noisy = copy.deepcopy(BASE_SUMMARY)
        noisy["irq_latency_ns"]["HRT"]["max"] = 70.0 + jitter
        _store_run(store, night, noisy, timing="real", board="zc702")
    within = copy.deepcopy(BASE_SUMMARY)
    within["irq_latency_ns"]["HRT"]["max"] = 80.0
    _store_run(store, 5, within, timing="real", board="zc702")
    assert detect(figures_frame(store), band=NoiseBand()) == []
    beyond = copy.deepcopy(BASE_SUMMARY)
    beyond["irq_latency_ns"]["HRT"]["max"] = 140.0
    _store_run(store, 6, beyond, timing="real", board="zc702")
    assert [r.metric.path for r in detect(figures_frame(store))] == ["irq_latency_ns.HRT.max"]


def test_runs_of_another_board_are_not_the_baseline(store) -> None:
    for night in range(3):
        _store_run(store, night, BASE_SUMMARY)
    slow_board = copy.deepcopy(BASE_SUMMARY)
    slow_board["irq_latency_ns"]["SRT"]["max"] = 99999.0
    _store_run(store, 3, slow_board, timing="real", board="zc702")
    assert detect(figures_frame(store)) == []  # its first run: nothing to compare with


def test_worst_case_series_and_missing_figures(store) -> None:
    partial = copy.deepcopy(BASE_SUMMARY)
    del partial["irq_latency_ns"]["NRT"]
    _store_run(store, 0, BASE_SUMMARY)
    _store_run(store, 1, partial)
    frame = figures_frame(store)
    worst = worst_case_series(frame)
    assert list(worst.columns) == ["native", "HRT", "HRT_user", "SRT", "NRT"]
    assert worst["SRT"].tolist() == [1080.0, 1080.0]
    assert pd.isna(worst["NRT"].iloc[1])
    assert pd.isna(run_figures(partial)["irq_latency_ns.NRT.max"])
    assert detect(frame) == []


def test_trend_report_shows_the_regression_and_every_run(store, tmp_path: Path) -> None:
    from lab.results.trend_report import render_trend_report

    runs = [_store_run(store, night, BASE_SUMMARY) for night in range(3)]
    worse = copy.deepcopy(BASE_SUMMARY)
    worse["context_switch_ns"]["ovm"]["mean"] += 160.0
    runs.append(_store_run(store, 3, worse, commit="slow123"))
    frame = figures_frame(store)
    found = detect(frame)
    out = tmp_path / "nightly" / "trend.html"
    page = render_trend_report(frame, found, out, window=5, source="the local store",
                               store=store).read_text()
    # A plot per tracked figure the runs measured, each an embedded PNG.
    measured = [m for m in METRICS if frame[m.path].notna().any()]
    assert page.count("data:image/png;base64,") == len(measured) >= 2
    assert all('<figure class="trend' in page and f'data-metric="{m.path}"' in page
               for m in measured)
    # The regression: listed in red, its plot marked, its cell coloured.
    assert 'class="regression" data-metric="context_switch_ns.ovm.mean"' in page
    assert 'id="regressions" class="bad"' in page
    newest = runs[-1].run_id
    assert re.search(r'<figure class="trend regressed" id="[^"]+" '
                     rf'data-metric="context_switch_ns\.ovm\.mean" data-regression="{newest}">',
                     page)
    assert page.count('<figure class="trend regressed"') == 1
    assert "slow123" in page
    assert all(f'data-run="{run.run_id}"' in page for run in runs)
    # Every run linked to its report, written beside the trend.
    for run in runs:
        link = f"runs/report-{run.run_id}.html"
        assert f'href="{link}"' in page and (out.parent / link).is_file()
    # The delta against the baseline: value, median, % and instructions (shift 4: 16 ns each).
    cell = re.search(r'<td class="regressed" data-metric="context_switch_ns\.ovm\.mean" '
                     r'data-value="([^"]+)" data-baseline="([^"]+)" data-change-pct="([^"]+)" '
                     r'data-change-instructions="([^"]+)">', page)
    assert cell is not None
    value, baseline, pct, instructions = map(float, cell.groups())
    assert (value, baseline) == (11364.6 + 160.0, 11364.6)
    assert pct == pytest.approx(100 * 160 / 11364.6) and instructions == pytest.approx(10.0)
    assert "+160 ns (+1.4%), +10.0 ins" in page


def test_trend_limits_show_a_change_on_a_linear_axis() -> None:
    from lab.results.trend_report import y_limits

    low, high = y_limits(np.array([1080.0, 1080.0, 1500.0]), integer=False) or (0, 0)
    # A 39% jump spans most of the axis: not a sliver at the top of a log scale from 0.
    assert 1080 - low < 0.3 * (high - low) and low > 900 and high < 1700
    assert y_limits(np.array([0.0, 0.0]), integer=True) == (-1.0, 1.0)


def _nightly(store: ResultStore, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lab.nightly", "--no-run", "--store", str(store.path),
         "--out", str(out)],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, check=False,
    )


def test_nightly_exits_0_on_identical_runs_and_1_naming_the_regression(store, tmp_path) -> None:
    for night in range(4):
        _store_run(store, night, BASE_SUMMARY)
    quiet = _nightly(store, tmp_path / "quiet")
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert "no regression" in quiet.stdout
    assert (tmp_path / "quiet" / "trend.html").is_file()
    assert len(list((tmp_path / "quiet" / "runs").glob("report-*.html"))) == 4

    worse = copy.deepcopy(BASE_SUMMARY)
    worse["irq_latency_ns"]["HRT"]["max"] = 216.0
    newest = _store_run(store, 4, worse, commit="hrt0bad")
    flagged = _nightly(store, tmp_path / "flagged")
    assert flagged.returncode == 1
    line = next(text for text in flagged.stdout.splitlines() if text.startswith("REGRESSION"))
    assert "irq_latency_ns.HRT.max" in line and newest.run_id in line and "hrt0bad" in line
