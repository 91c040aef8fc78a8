"""Run the whole evaluation on one labgrid target, assemble it into one run, keep it.

``assemble_run`` is the one place a run's experiments become its figures: the
samples and scalar tables, ``summary.json``, the printed table, the Linux
baseline beside them. ``run_evaluation`` (one target, ``make lab``) and
``lab.remote.merge`` (experiments spread over places) both end in it, and
``evaluate_and_keep`` is what ``lab.run`` and ``lab.nightly`` call: run, then
keep through the results pipeline. The Linux baseline runs only where the
target is QEMU (it boots Debian's kernel on the same emulated machine,
outside labgrid), and so does the ``linux_host`` experiment (``linux_host``:
Linux under OVM beside the real-time VMs, and natively), which only
``run_evaluation`` runs: minutes of Linux on a quarter of an emulated core.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from labgrid import Environment, Target
from labgrid.strategy import StrategyError

from lab.firmware.errors import BuildError
from lab.firmware.loader import load_board
from lab.linux import LinuxUserError
from lab.paths import OVM_DIR, REPO_ROOT, shown
from lab.results.outputs import RunFailed
from lab.results.pipeline import KeptRun, keep_run
from lab.results.schema import RunInfo
from lab.results.statistics import Timebase
from lab.results.store import ResultStore
from lab.target.provenance import Provenance, target_provenance
from lab.target.transcript import ConsoleTimeout

from . import linux_baseline
from .experiments import (
    EXPERIMENTS,
    EvaluationError,
    Experiment,
    ExperimentResult,
    Progress,
    run_experiment,
)
from .linux_host import LinuxHostError, LinuxHostResult, run_linux_host, summary_section
from .samples import sample_frame, scalar_frame
from .summary import build_summary, table

log = logging.getLogger(__name__)


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

    def kept(self, source: str) -> KeptRun:
        """What the results pipeline keeps of it."""
        return KeptRun(self.run_info(source), self.samples, self.scalars, self.summary)


def assemble_run(
    results: Mapping[str, ExperimentResult],
    provenance: Provenance,
    out_dir: Path,
    *,
    started_ns: int,
    linux_env: Path | None,
    linux_host: LinuxHostResult | None = None,
    extra: Mapping[str, Any] | None = None,
    progress: Progress = print,
) -> EvaluationRun:
    """The experiments' results as one run: the Linux baseline (with ``linux_env``, on
    QEMU only), the tables, ``summary.json`` (plus the ``linux_host`` experiment's section
    and ``extra``) and the printed table."""
    timebase = Timebase(load_board(OVM_DIR, provenance.board).private_timer_hz,
                        provenance.icount_shift)
    linux_ns = linux_method = None
    if linux_env is not None and provenance.board_kind == "qemu":
        progress("[eval] linux: booting Debian's armmp kernel on the same QEMU machine")
        baseline = linux_baseline.measure(provenance.icount_shift, env_file=linux_env)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "linux.log").write_text(baseline.console)
        progress(f"[eval] linux: done in {baseline.wall_seconds:.1f} s of wall time")
        linux_ns, linux_method = baseline.samples.to_numpy(), baseline.method
    else:
        progress("[eval] linux: skipped (the baseline boots on QEMU only)")

    samples, unpaired = sample_frame(results, timebase, linux_ns)
    scalars = scalar_frame(results, timebase, board=provenance.board, repo_root=REPO_ROOT)
    builds = {name: result.build for name, result in results.items()}
    if linux_host is not None:
        builds.update(linux_host.builds)
    summary = build_summary(samples, scalars, timebase, provenance, builds, unpaired, linux_method)
    if linux_host is not None:
        summary["linux_host"] = summary_section(linux_host, timebase, provenance.icount_shift)
    summary.update(extra or {})
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    progress("\n" + table(summary))
    return EvaluationRun(summary, samples, scalars, provenance, started_ns)


def run_evaluation(
    target: Target,
    env_file: Path,
    out_dir: Path,
    *,
    experiments: Iterable[Experiment] = EXPERIMENTS,
    linux_host: bool = True,
    progress: Progress = print,
) -> EvaluationRun:
    """Every experiment on ``target``; ``linux_host``: the linux_host experiment too (QEMU
    only: elsewhere it is skipped, and says so)."""
    started_ns = time.time_ns()
    board = ovm_board(target)
    strategy = target.get_driver("OVMStrategy")
    provenance = target_provenance(target, board, REPO_ROOT)
    results: dict[str, ExperimentResult] = {}
    has_linux = load_board(REPO_ROOT / "ovm", board).linux is not None
    try:
        for experiment in experiments:
            if experiment.linux and not has_linux:
                progress(f"[eval] {experiment.name}: skipped (board {board} runs no Linux VM)")
                continue
            results[experiment.name] = run_experiment(
                experiment, strategy, board, REPO_ROOT, out_dir, progress)
    finally:
        strategy.select_image(None)
    hosted = None
    if linux_host and provenance.board_kind == "qemu":
        hosted = run_linux_host(target, board, env_file, out_dir, progress=progress)
    elif linux_host:
        progress("[eval] linux_host: skipped (it boots Linux's console on QEMU's second UART)")
    return assemble_run(results, provenance, out_dir, started_ns=started_ns,
                        linux_env=env_file, linux_host=hosted, progress=progress)


def evaluate_and_keep(env_file: Path, out: Path, store_path: Path, *, source: str,
                      progress: Progress = print,
                      check_held: Callable[[], None] = lambda: None,
                      linux_host: bool = True) -> RunInfo:
    """Run the evaluation on the environment's target into ``out`` and keep it (store,
    InfluxDB, report). Raises ``RunFailed`` with the reason; nothing is stored then.
    ``check_held`` raises when the board was not the run's throughout (a place lost);
    ``linux_host``: run that experiment too (``run_evaluation``)."""
    progress("\n[lab] the paper's evaluation: each experiment is one boot")
    env = Environment(str(env_file))
    started = time.monotonic()
    try:
        run = run_evaluation(env.get_target("main"), env_file, out, linux_host=linux_host,
                             progress=progress)
    except (StrategyError, ConsoleTimeout, EvaluationError, linux_baseline.BaselineError,
            BuildError, LinuxHostError, LinuxUserError) as failure:
        # labgrid's strategy wraps what failed inside it; the lab's own errors say it whole.
        inner = failure.__cause__ if isinstance(failure, StrategyError) else None
        raise RunFailed(str(inner or failure)) from failure
    finally:
        cleanup(env)
    progress(f"\n[lab] evaluation took {time.monotonic() - started:.0f} s; "
             f"wrote {shown(out / 'summary.json')} and a log per experiment")
    check_held()
    return keep_run(run.kept(source), ResultStore(store_path), out, progress=progress)


def cleanup(env: Environment) -> None:
    """labgrid's cleanup (drivers deactivated, QEMU stopped); what it raises goes to the log:
    the run has already said what went wrong."""
    try:
        env.cleanup()
    except Exception:  # noqa: BLE001 - logged whole, the run's own error is the one shown
        log.exception("labgrid's cleanup failed")
