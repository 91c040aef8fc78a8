"""Run the whole evaluation on one labgrid target and write its results.

Writes ``summary.json`` and one console log per experiment into the output
directory, and prints the table beside the paper's figures. The Linux
baseline runs only where the target is QEMU (it boots Debian's kernel on the
same emulated machine, outside labgrid).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from labgrid import Target

from lab import linux_baseline
from lab.firmware.loader import load_board
from lab.provenance import Provenance, target_provenance
from lab.results.schema import RunInfo

from .experiments import EXPERIMENTS, Experiment, ExperimentResult, Progress, run_experiment
from .measures import Timebase
from .samples import sample_frame, scalar_frame
from .summary import build_summary, table


def ovm_board(target: Target) -> str:
    board = target.env.config.get_option("ovm_board", None) if target.env else None
    if not board:
        raise ValueError("the environment's options.ovm_board names no board")
    return board


@dataclass(frozen=True)
class EvaluationRun:
    """One evaluation: its figures, every sample behind them, and where they came from."""

    summary: dict[str, Any]
    samples: pd.DataFrame  # lab.results.schema.SAMPLE_COLUMNS
    scalars: pd.DataFrame  # lab.results.schema.SCALAR_COLUMNS
    provenance: Provenance
    started_ns: int  # wall clock at the start, ns since the epoch: the run's time in the store

    def run_info(self, source: str) -> RunInfo:
        """This run as the result store and InfluxDB know it."""
        p = self.provenance
        return RunInfo(RunInfo.new_id(self.started_ns, p.commit), self.started_ns, p.board,
                       p.board_kind, p.timing, p.icount_shift, p.commit, source)


def run_evaluation(
    target: Target,
    env_file: Path,
    out_dir: Path,
    repo_root: Path,
    *,
    experiments: Iterable[Experiment] = EXPERIMENTS,
    progress: Progress = print,
) -> EvaluationRun:
    started_ns = time.time_ns()
    board = ovm_board(target)
    strategy = target.get_driver("OVMStrategy")
    provenance = target_provenance(target, board, repo_root)
    timebase = Timebase(load_board(repo_root / "ovm", board).private_timer_hz,
                        provenance.icount_shift)
    results: dict[str, ExperimentResult] = {}
    try:
        for experiment in experiments:
            results[experiment.name] = run_experiment(
                experiment, strategy, board, repo_root, out_dir, progress)
    finally:
        strategy.select_image(None)

    linux_ns = linux_method = None
    if provenance.board_kind == "qemu":
        progress("[eval] linux: booting Debian's armmp kernel on the same QEMU machine")
        baseline = linux_baseline.measure(provenance.icount_shift, env_file=env_file)
        (out_dir / "linux.log").write_text(baseline.console)
        progress(f"[eval] linux: done in {baseline.wall_seconds:.1f} s of wall time")
        linux_ns, linux_method = baseline.samples.to_numpy(), baseline.method
    else:
        progress("[eval] linux: skipped (the baseline boots on QEMU only)")

    samples, unpaired = sample_frame(results, timebase, linux_ns)
    scalars = scalar_frame(results, timebase, board=board, repo_root=repo_root)
    builds = {name: result.build for name, result in results.items()}
    summary = build_summary(samples, scalars, timebase, provenance, builds, unpaired, linux_method)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    progress("\n" + table(summary))
    return EvaluationRun(summary, samples, scalars, provenance, started_ns)
