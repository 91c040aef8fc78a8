"""Each run's files in a directory of their own; ``latest`` names the newest complete one.

A run writes into ``<parent>/runs/<name>/`` while it goes. Only when it is
complete does ``<parent>/latest`` (a symbolic link) switch to it, by one
atomic rename, so a reader never sees a new ``summary.json`` beside an old
``report.html``. A run that fails or is stopped leaves its directory with an
``INCOMPLETE`` file saying why, and ``latest`` where it was.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lab.logs import logging_to
from lab.paths import REPO_ROOT, shown
from lab.target.provenance import git_commit


class RunFailed(Exception):
    """A run did not complete; the message says which step failed and why."""


RUNS = "runs"
INCOMPLETE = "INCOMPLETE"


def run_name(started_ns: int, commit: str) -> str:
    """The directory of a run: when it started (UTC) and what it ran."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(started_ns / 1e9))
    return f"{stamp}-{commit}"


@dataclass(frozen=True)
class RunDirectory:
    published: Path  # where the finished run appears: a link to it (reports/out/latest)
    path: Path  # where the run writes: <published's parent>/runs/<name>

    @classmethod
    def start(cls, published: Path, name: str) -> RunDirectory:
        """A new, empty directory for a run that will appear at ``published``."""
        runs = published.parent / RUNS
        runs.mkdir(parents=True, exist_ok=True)
        path, number = runs / name, 1
        while True:
            try:
                path.mkdir()
                break
            except FileExistsError:
                number += 1
                path = runs / f"{name}.{number}"
        return cls(published, path)

    def publish(self) -> Path:
        """Switch ``published`` to this run, atomically; where it now points."""
        self.published.parent.mkdir(parents=True, exist_ok=True)
        if self.published.is_dir() and not self.published.is_symlink():
            # A directory from before runs had their own: kept among the runs.
            self.published.rename(self.path.parent / f"{self.published.name}-before-runs")
        staged = self.published.with_name(f".{self.published.name}.{os.getpid()}")
        staged.unlink(missing_ok=True)
        staged.symlink_to(os.path.relpath(self.path, self.published.parent))
        os.replace(staged, self.published)
        return self.path

    def abandon(self, reason: str) -> Path:
        """Mark the run incomplete (``latest`` is left alone); the marker's path."""
        marker = self.path / INCOMPLETE
        marker.write_text(reason.rstrip() + "\n")
        return marker


@contextmanager
def complete_or_abandoned(published: Path, *, who: str) -> Iterator[RunDirectory]:
    """A run's directory, published at ``published`` if the block completes; marked
    INCOMPLETE if it raises (a ``RunFailed`` is printed, then where the partial run is),
    and the exception goes on. The run's log records (the lab's and labgrid's) go to
    its ``lab.log``."""
    run_dir = RunDirectory.start(published, run_name(time.time_ns(), git_commit(REPO_ROOT)))
    with logging_to(run_dir.path / "lab.log"):
        try:
            yield run_dir
        except BaseException as stop:
            why = str(stop) if isinstance(stop, RunFailed) else (
                f"{type(stop).__name__}: {stop}" if str(stop) else type(stop).__name__)
            marker = run_dir.abandon(why)
            if isinstance(stop, RunFailed):
                print(f"[{who}] run FAILED: {stop}", file=sys.stderr, flush=True)
            print(f"[{who}] the partial run stays in {shown(run_dir.path)} ({marker.name}, "
                  f"lab.log, the experiments' logs); {shown(published)} still holds the last "
                  "complete run", file=sys.stderr, flush=True)
            raise
    run_dir.publish()
    print(f"[{who}] complete: {shown(published)} -> {shown(run_dir.path)}", flush=True)
