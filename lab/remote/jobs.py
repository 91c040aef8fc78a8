"""The jobs of a run spread over places, their results, and the run they make up.

A **job** is one boot: an experiment of the evaluation
(``lab.evaluation.experiments``) or a scenario booted until given lines. Its
image is built once, by the runner, before any worker starts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lab.evaluation.experiments import EXPERIMENTS, LATENCY_ARGS, experiment
from lab.firmware.build import build
from lab.firmware.native import build_native

Progress = Callable[[str], None]


class ParallelRunError(Exception):
    """Jobs failed or were never run; the message says which and why."""


@dataclass(frozen=True)
class Job:
    name: str
    experiment: str | None = None  # an experiment of lab.evaluation.experiments
    scenario: str | None = None  # else: boot this OVM scenario ...
    until: tuple[str, ...] = ()  # ... and wait for these lines (regular expressions)
    timeout_s: float = 60.0
    image: str | None = None  # filled in by the runner's build

    @classmethod
    def boot(cls, scenario: str, until: Sequence[str] = (), name: str | None = None) -> "Job":
        return cls(name or scenario, scenario=scenario, until=tuple(until))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Job":
        return cls(**{**data, "until": tuple(data.get("until", ()))})


@dataclass
class JobResult:
    name: str
    place: str
    worker: str
    ok: bool
    error: str | None = None
    build: str | None = None  # the build id the image printed
    banner: dict[str, Any] | None = None
    lines: dict[str, dict[str, str]] = field(default_factory=dict)
    console: str = ""
    wall_s: float = 0.0


@dataclass
class ParallelRun:
    started_ns: int
    commit: str
    jobs: list[Job]
    places: dict[str, dict[str, Any]] = field(default_factory=dict)  # place -> worker, provenance
    results: dict[str, JobResult] = field(default_factory=dict)
    worker_errors: dict[str, str] = field(default_factory=dict)

    @property
    def failures(self) -> dict[str, str]:
        failed = {name: r.error or "failed" for name, r in self.results.items() if not r.ok}
        for job in self.jobs:
            if job.name not in self.results:
                failed[job.name] = "never run (no worker held a place long enough)"
        return failed

    def as_dict(self) -> dict[str, Any]:
        return {
            "started_ns": self.started_ns,
            "commit": self.commit,
            "places": self.places,
            "worker_errors": self.worker_errors,
            "jobs": [
                {**asdict(job), **{k: v for k, v in asdict(self.results[job.name]).items()
                                   if k not in ("name", "console")}}
                if job.name in self.results else {**asdict(job), "ok": False, "error": "never run"}
                for job in self.jobs
            ],
        }

    def write(self, out_dir: Path) -> Path:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, result in self.results.items():
            (out_dir / f"{name}.log").write_text(result.console)
        path = out_dir / "run.json"
        path.write_text(json.dumps(self.as_dict(), indent=2, sort_keys=True) + "\n")
        return path


def prepare(jobs: Sequence[Job], board: str, repo_root: Path) -> list[Job]:
    """Build every job's image once, before workers start (builds are not run concurrently)."""
    names = [job.name for job in jobs]
    if len(set(names)) != len(names):
        raise ValueError(f"job names must be unique: {names}")
    prepared = []
    for job in jobs:
        if job.experiment:
            chosen = experiment(job.experiment)
            if chosen.native_program:
                image = build_native(board, chosen.native_program, LATENCY_ARGS,
                                     repo_root=repo_root).elf
            elif chosen.scenario:
                image = build(board, chosen.scenario, repo_root=repo_root).elf
            else:
                raise ValueError(f"experiment {chosen.name}: neither a scenario nor a program")
        elif job.scenario:
            image = build(board, job.scenario, repo_root=repo_root).elf
        else:
            raise ValueError(f"job {job.name}: neither an experiment nor a scenario")
        prepared.append(Job(**{**asdict(job), "image": str(image)}))
    return prepared


def evaluation_jobs() -> list[Job]:
    """The evaluation's experiments as jobs, but those that boot Linux (``make lab`` runs
    them, as it runs linux_host): a place may be a board that runs no Linux VM."""
    return [Job(e.name, experiment=e.name, timeout_s=e.timeout_s) for e in EXPERIMENTS
            if not e.linux]
