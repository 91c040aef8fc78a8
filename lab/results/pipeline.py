"""What happens to every evaluation run: kept, sent, reported.

The local store always gets the run first, so nothing depends on a server:
InfluxDB (when configured) is written next, and a failure there only leaves
the run for ``python -m lab.results backfill``. Then the run's HTML report
and its cyclictest-layout JSON go next to ``summary.json``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .cyclictest import write_cyclictest_json
from .influx import InfluxConfig, InfluxError, sync
from .report import render_run_report
from .schema import RunInfo
from .store import ResultStore

Progress = Callable[[str], None]


@dataclass(frozen=True)
class KeptRun:
    """What is kept of any run: where it came from, its samples, its scalars, its summary."""

    info: RunInfo
    samples: pd.DataFrame  # schema.SAMPLE_COLUMNS
    scalars: pd.DataFrame  # schema.SCALAR_COLUMNS
    summary: dict[str, Any]


def keep_run(run: KeptRun, store: ResultStore, out_dir: Path,
             progress: Progress = print) -> RunInfo:
    info = run.info
    store.add_run(info, run.samples, run.scalars, run.summary)
    progress(f"[results] run {info.run_id}: {len(run.samples)} samples kept in {store.path}")
    try:
        config = InfluxConfig.load()
    except InfluxError as error:
        progress(f"[results] InfluxDB configuration refused ({error}); the local store has the run")
        config = None
    if config is None:
        progress("[results] InfluxDB: not configured (OVM_INFLUX_URL or env/influxdb.yaml); "
                 "local store only")
    else:
        sync(store, config, progress)
    report = render_run_report(store, info.run_id, out_dir / "report.html")
    progress(f"[results] report: {report}")
    cyclictest = write_cyclictest_json(store, info.run_id, out_dir / "cyclictest.json")
    progress(f"[results] cyclictest --json layout: {cyclictest}")
    return info
