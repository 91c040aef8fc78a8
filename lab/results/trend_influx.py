"""The trend's per-run figures read back from InfluxDB instead of the local store.

Run ids and commits are fields (not tags), and InfluxQL groups only by tags
and time; so the raw samples of the runs are read and grouped by run in
pandas, and each run's figures are computed exactly as its summary's were
(``lab.evaluation.measures.stats``), from the same samples.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .catalogue import (
    SAMPLE_MEASUREMENTS,
    SCALAR_KEY_TAGS,
    SCALAR_SECTIONS,
    by_level,
    measured_fields,
)
from .influx import InfluxClient
from .statistics import Timebase, stats
from .trend import METRICS, run_figures

RUN_COLUMNS = ["run_id", "started_ns", "board", "board_kind", "timing", "icount_shift", "commit",
               "source"]


def _where(board: str | None) -> str:
    return f" WHERE \"board\" = '{board}'" if board else ""


def figures_from_influx(client: InfluxClient, *, last: int | None = None,
                        board: str | None = None) -> pd.DataFrame:
    """Rows like ``trend.figures_frame``: one per run found in InfluxDB, oldest first."""
    summaries: dict[str, dict[str, Any]] = {}
    identity: dict[str, dict[str, Any]] = {}
    no_shift = Timebase(timer_hz=1, icount_shift=None)
    for measurement in SAMPLE_MEASUREMENTS:
        frame = client.query(
            f'SELECT "value_ns", "run_id", "commit", "icount_shift" FROM "{measurement}"'
            f'{_where(board)} GROUP BY "board", "board_kind", "timing", "level"')
        if frame.empty:
            continue
        for (run_id, level), group in frame.groupby(["run_id", "level"], sort=False):
            known_series = by_level(measurement, level)
            if known_series is None:
                continue
            summary = summaries.setdefault(run_id, {})
            summary.setdefault(known_series.section, {})[known_series.key] = stats(
                group["value_ns"].to_numpy(), no_shift)
            first = group.iloc[0]
            known = identity.setdefault(run_id, {
                "run_id": run_id, "started_ns": int(group["time"].min()), "board": first["board"],
                "board_kind": first["board_kind"], "timing": first["timing"],
                "icount_shift": first.get("icount_shift"), "commit": first["commit"],
                "source": "influxdb"})
            known["started_ns"] = min(known["started_ns"], int(group["time"].min()))
    for measurement, section in SCALAR_SECTIONS.items():
        key, names = SCALAR_KEY_TAGS[measurement], measured_fields(measurement)
        found = client.query(f'SELECT * FROM "{measurement}"{_where(board)}')
        for row in found.to_dict("records"):
            if row.get("run_id") in summaries:
                fields = {name: row[name] for name in names
                          if name in row and pd.notna(row[name])}
                summaries[row["run_id"]].setdefault(section, {})[row[key]] = fields
    rows = [{**identity[run_id], **run_figures(summary)} for run_id, summary in summaries.items()]
    frame = pd.DataFrame(rows, columns=[*RUN_COLUMNS, *(m.path for m in METRICS)])
    frame = frame.sort_values("started_ns", kind="stable").reset_index(drop=True)
    return frame.tail(last).reset_index(drop=True) if last else frame
