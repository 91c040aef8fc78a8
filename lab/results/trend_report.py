"""The nightly trend report: worst cases over the last runs, and what regressed.

One self-contained HTML file, in the manner of OSADL's long-term latency
plots: each level's worst-case interrupt latency run after run, the vCPU
switch, and a table of every run with its commit; regressions (from
``trend.detect``) at the top, each naming the metric, the runs and commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .catalogue import in_group
from .report import esc, page, png_data_uri
from .trend import METRICS, Regression, worst_case_series


def _over_runs_plot(series: pd.DataFrame, title: str, ylabel: str) -> str:
    figure = Figure(figsize=(8, 3.2))
    axes = figure.add_subplot()
    positions = np.arange(len(series.index))
    for column in series.columns:
        axes.plot(positions, series[column].to_numpy(dtype=float), marker="o", markersize=3,
                  label=str(column))
    axes.set_yscale("log")
    axes.set_xticks(positions, [str(run)[:15] for run in series.index], rotation=45,
                    ha="right", fontsize=7)
    axes.set_ylabel(ylabel, fontsize=8)
    axes.set_title(title, fontsize=10, loc="left")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=7, ncol=len(series.columns))
    figure.tight_layout()
    return png_data_uri(figure)


def _regressions_section(regressions: Sequence[Regression], window: int) -> str:
    if not regressions:
        return (f'<section id="regressions"><h2>Regressions</h2><p class="ok">None: the newest '
                f"run is no worse than the median of the {window} runs before it.</p></section>")
    items = "".join(f'<li data-metric="{esc(r.metric.path)}">{esc(r.describe())}</li>'
                    for r in regressions)
    return f'<section id="regressions"><h2>Regressions</h2><ul>{items}</ul></section>'


def _runs_table(frame: pd.DataFrame) -> str:
    shown = [m for m in METRICS if m.path.endswith(".max") or m.path.endswith(".mean")]
    head = "".join(f"<th>{esc(m.label)}</th>" for m in shown)
    rows = []
    for record in frame.to_dict("records"):
        cells = "".join(
            f"<td>{'' if pd.isna(record[m.path]) else f'{record[m.path]:,.1f}'}</td>"
            for m in shown)
        rows.append(f'<tr data-run="{esc(record["run_id"])}"><td>{esc(record["run_id"])}</td>'
                    f"<td>{esc(record['commit'])}</td><td>{esc(record['timing'])}</td>{cells}</tr>")
    return (f'<section><h2>Runs</h2><table id="runs"><tr><th>run</th><th>commit</th>'
            f"<th>timing</th>{head}</tr>{''.join(rows)}</table></section>")


def render_trend_report(frame: pd.DataFrame, regressions: Sequence[Regression], out: Path,
                        *, window: int, source: str) -> Path:
    """Write the trend over ``frame``'s runs (trend.figures_frame) to ``out``."""
    sections = [
        f"<p>{len(frame)} runs from {esc(source)}; board(s) "
        f"{esc(', '.join(sorted(set(frame['board']))))}.</p>",
        _regressions_section(regressions, window),
    ]
    if not frame.empty:
        worst = worst_case_series(frame)
        sections.append('<section><h2>Worst-case IRQ latency per level</h2>'
                        f'<img alt="worst case over runs" src="{_over_runs_plot(worst, "worst case per run", "ns")}"></section>')
        tracked = [s for s in in_group("switch") if "mean" in s.trend]
        switch = frame.set_index("run_id")[[f"{s.section}.{s.key}.mean" for s in tracked]]
        switch.columns = [f"{s.label}, mean" for s in tracked]
        sections.append('<section><h2>vCPU switch</h2>'
                        f'<img alt="vCPU switch over runs" src="{_over_runs_plot(switch, "mean per run", "ns")}"></section>')
        sections.append(_runs_table(frame))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page("OVM Lab nightly trend", sections), encoding="utf-8")
    return out
