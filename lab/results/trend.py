"""Trends over the stored runs, and regressions against a rolling baseline.

Each run's figures come from its summary (the same numbers ``summary.json``
has). A run is compared with the runs before it on the same board and timing
(the baseline: the median of the last ``window`` of them):

- ``timing=icount``: figures are exact instruction counts and repeat run to
  run, so any change for the worse is a regression, however small;
- ``timing=real`` (a board): figures carry noise, so only a change beyond a
  band (``NoiseBand``: a multiple of the baseline's spread, at least a
  fraction of its median) is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .catalogue import FIGURES, SERIES, STAT_WORDS
from .store import ResultStore


@dataclass(frozen=True)
class Metric:
    path: str  # where in summary.json
    label: str
    unit: str = "ns"


# The interrupt-latency levels, in the paper's order: the worst-case trend's lines.
LATENCY_LEVELS = tuple(s.key for s in SERIES if s.measurement == "irq_latency")
METRICS: tuple[Metric, ...] = (
    *(Metric(f"{s.section}.{s.key}.{stat}", f"{s.label}, {STAT_WORDS[stat]}")
      for s in SERIES for stat in s.trend),
    *(Metric(f.path, f.trend_label, f.unit) for f in FIGURES if f.trend_label),
)


@dataclass(frozen=True)
class NoiseBand:
    """What counts as noise on real-time figures: k x MAD, and at least a fraction."""

    mad_factor: float = 3.0
    min_fraction: float = 0.10

    def limit(self, baseline: np.ndarray) -> float:
        median = float(np.median(baseline))
        mad = 1.4826 * float(np.median(np.abs(baseline - median)))
        return median + max(self.mad_factor * mad, self.min_fraction * abs(median))


def _lookup(summary: Mapping[str, Any], path: str) -> float:
    node: Any = summary
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return math.nan
        node = node[part]
    return float(node) if isinstance(node, (int, float)) else math.nan


def run_figures(summary: Mapping[str, Any]) -> dict[str, float]:
    """The tracked figures of one run (NaN where the run did not measure one)."""
    overload = summary.get("deadline", {}).get("overload", {})
    derived = dict(summary)
    if "misses" in overload and "detected" in overload:
        derived = {**summary, "deadline": {**summary["deadline"], "overload": {
            **overload, "undetected": overload["misses"] - overload["detected"]}}}
    return {metric.path: _lookup(derived, metric.path) for metric in METRICS}


def figures_frame(store: ResultStore, *, last: int | None = None, board: str | None = None,
                  board_kind: str | None = None) -> pd.DataFrame:
    """One row per stored run, oldest first: its identity and its tracked figures."""
    runs = store.runs(last=last, board=board, board_kind=board_kind)
    rows = [{**run, **run_figures(store.summary(run["run_id"]))} for run in runs.to_dict("records")]
    return pd.DataFrame(rows, columns=[*runs.columns, *(m.path for m in METRICS)])


@dataclass(frozen=True)
class Regression:
    metric: Metric
    run_id: str
    commit: str
    value: float
    limit: float
    baseline_value: float
    baseline_runs: tuple[str, ...]
    baseline_commits: tuple[str, ...]

    def describe(self) -> str:
        commits = ", ".join(dict.fromkeys(self.baseline_commits))
        return (f"REGRESSION {self.metric.label} ({self.metric.path}): {self.value:g} {self.metric.unit} "
                f"in run {self.run_id} (commit {self.commit}), above {self.limit:g} "
                f"(baseline {self.baseline_value:g}, median of runs "
                f"{', '.join(self.baseline_runs)}; commits {commits})")


@dataclass(frozen=True)
class Delta:
    """One run's figure against its baseline: the median of the runs before it."""

    value: float
    baseline: float  # NaN when the run had no baseline (its board's first run)
    limit: float  # above it, a regression
    per_instruction: float | None  # ns per instruction under icount, else None

    @property
    def regressed(self) -> bool:
        return not math.isnan(self.baseline) and self.value > self.limit

    @property
    def change(self) -> float:
        return self.value - self.baseline

    @property
    def change_pct(self) -> float:
        return 100.0 * self.change / self.baseline if self.baseline else math.nan

    @property
    def change_instructions(self) -> float | None:
        return self.change / self.per_instruction if self.per_instruction else None


def _baseline(frame: pd.DataFrame, position: int, window: int) -> pd.DataFrame:
    """The ``window`` runs before ``frame``'s row ``position`` on its board and timing."""
    run = frame.iloc[position]
    earlier = frame.iloc[:position]
    same = earlier[(earlier["board"] == run["board"]) & (earlier["timing"] == run["timing"])]
    return same.tail(window)


def _per_instruction(run: Mapping[str, Any]) -> float | None:
    shift = run.get("icount_shift")
    if run.get("timing") != "icount" or shift is None or pd.isna(shift):
        return None
    return float(2 ** int(shift))


def delta(frame: pd.DataFrame, position: int, metric: Metric, *, window: int = 5,
          band: NoiseBand = NoiseBand()) -> Delta | None:
    """Row ``position``'s figure against its baseline; None where the run did not measure it.

    Under icount the limit is the baseline's median (any change for the worse
    counts); on real time, the noise band's.
    """
    run = frame.iloc[position]
    value = float(run[metric.path])
    if math.isnan(value):
        return None
    per_instruction = _per_instruction(run) if metric.unit == "ns" else None
    history = _baseline(frame, position, window)[metric.path].to_numpy(dtype=np.float64)
    history = history[~np.isnan(history)]
    if history.size == 0:
        return Delta(value, math.nan, math.nan, per_instruction)
    median = float(np.median(history))
    limit = median if run["timing"] == "icount" else band.limit(history)
    return Delta(value, median, limit, per_instruction)


def deltas(frame: pd.DataFrame, *, window: int = 5, band: NoiseBand = NoiseBand(),
           metrics: Sequence[Metric] = METRICS) -> dict[tuple[str, str], Delta]:
    """Every run's figures against their baselines, by (run id, metric path): the trend page's."""
    found = {}
    for position in range(len(frame)):
        run_id = str(frame.iloc[position]["run_id"])
        for metric in metrics:
            compared = delta(frame, position, metric, window=window, band=band)
            if compared is not None:
                found[(run_id, metric.path)] = compared
    return found


def detect(frame: pd.DataFrame, *, window: int = 5, band: NoiseBand = NoiseBand(),
           metrics: Sequence[Metric] = METRICS) -> list[Regression]:
    """Regressions of the newest run against the runs before it on its board and timing."""
    if frame.empty:
        return []
    newest = frame.iloc[-1]
    baseline = _baseline(frame, len(frame) - 1, window)
    found = []
    for metric in metrics:
        compared = delta(frame, len(frame) - 1, metric, window=window, band=band)
        if compared is not None and compared.regressed:
            found.append(Regression(
                metric, str(newest["run_id"]), str(newest["commit"]), compared.value,
                compared.limit, compared.baseline, tuple(baseline["run_id"]),
                tuple(baseline["commit"])))
    return found


def worst_case_series(frame: pd.DataFrame, levels: Iterable[str] = LATENCY_LEVELS) -> pd.DataFrame:
    """Worst-case IRQ latency per level over the runs (the OSADL-style trend's data)."""
    columns = {f"irq_latency_ns.{level}.max": level for level in levels}
    return frame.set_index("run_id")[list(columns)].rename(columns=columns)
