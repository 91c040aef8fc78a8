"""A parallel run of the evaluation's experiments, merged back into one evaluation.

Places whose provenance differs (board, timing, icount shift) are never merged
into one summary: their figures are not the same unit.
"""

from __future__ import annotations

from pathlib import Path

from lab.evaluation.evaluate import EvaluationRun, assemble_run
from lab.evaluation.experiments import EXPERIMENTS, ExperimentResult, experiment
from lab.paths import QEMU_ENV
from lab.target.provenance import Provenance
from lab.target.records import parse_records

from .jobs import ParallelRun, ParallelRunError, Progress


def merged_provenance(run: ParallelRun):
    """One provenance for the run, or an error when the places are not alike."""
    keys = ("board", "board_kind", "timing", "icount_shift")
    used = {name: info["provenance"] for name, info in run.places.items() if info["jobs"]}
    kinds = {tuple(p.get(k) for k in keys) for p in used.values()}
    if len(kinds) != 1:
        raise ParallelRunError("the places differ in " + ", ".join(keys) + ": " + "; ".join(
            f"{name}: {tuple(p.get(k) for k in keys)}" for name, p in sorted(used.items()))
            + " -- their figures cannot be merged into one summary")
    board, board_kind, timing, shift = kinds.pop()
    return Provenance(board=board, board_kind=board_kind, timing=timing, icount_shift=shift,
                      commit=run.commit)


def merged_evaluation(run: ParallelRun, *, out_dir: Path, env_file: Path | None = None,
                      linux: bool = True, progress: Progress = print) -> EvaluationRun:
    """The evaluation's ``EvaluationRun`` from a parallel run of its experiments.

    ``summary.json`` is what ``make lab`` writes, plus ``places``: which
    experiment ran on which place and each place's provenance. The Linux
    baseline (QEMU only) runs here, on this machine, as ``make lab`` runs it.
    """
    if run.failures:
        raise ParallelRunError("not merged, jobs failed: " + "; ".join(
            f"{name}: {why}" for name, why in run.failures.items()))
    missing = {e.name for e in EXPERIMENTS if not e.linux} - set(run.results)
    if missing:
        raise ParallelRunError(f"not an evaluation: experiments {sorted(missing)} were not run")
    results = {}
    for e in EXPERIMENTS:
        if e.name not in run.results:
            continue
        r = run.results[e.name]
        results[e.name] = ExperimentResult(experiment(e.name), r.build or "unknown", r.console,
                                           parse_records(r.console), r.wall_s)
    places = {
        "experiments": {name: run.results[name].place for name in results},
        "provenance": {name: info["provenance"] for name, info in run.places.items()},
    }
    return assemble_run(results, merged_provenance(run), out_dir, started_ns=run.started_ns,
                        linux_env=(env_file or QEMU_ENV) if linux else None,
                        extra={"places": places}, progress=progress)
