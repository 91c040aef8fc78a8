"""The nightly trend report: every tracked figure over the last runs, and what regressed.

One self-contained HTML file (``trend.html``), in the manner of OSADL's
long-term latency plots, read on a bad day and every morning:

- regressions (from ``trend.detect``) first, in red, each naming the metric,
  the runs and commits, and linking to the run's report and to its plot;
- a small plot per tracked figure (``trend.METRICS``), run after run: each on
  a linear axis with limits around its own data, so a change of a few percent
  is a visible step and native's 200 ns is not flattened under NRT's tens of
  µs (log axes and shared axes hid both); a run above its baseline's limit is
  a red point labelled with its change, and its figure says so
  (``data-regression`` lists the runs);
- a table of every run: its report, commit, and each figure with its delta
  against the baseline (median of the runs before it on the same board and
  timing, as ``trend.delta``): value, baseline, change in % and, under
  icount, in instructions. The table scrolls in its own box.

Run reports: with the store at hand (``store=``) each run shown gets its
report in ``runs/report-<run id>.html`` beside ``trend.html`` (written once,
when missing: a stored run never changes), and the page links them. Runs the
store does not have (a trend read from InfluxDB) are listed without a link.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, StrMethodFormatter

from .report import (
    esc,
    fmt_instructions,
    fmt_scaled,
    fmt_time,
    page,
    png_data_uri,
    render_run_report,
    report_file_name,
    scroll,
    time_scale,
)
from .store import ResultStore, StoreError
from .trend import METRICS, Delta, Metric, NoiseBand, Regression, deltas

RUNS_DIR = "runs"
# The page's plot sections: (id, title, summary sections whose metrics they show).
GROUPS = (
    ("latency", "Interrupt latency per level", ("irq_latency_ns", "irq_deferred_ns")),
    ("switch", "vCPU switch", ("context_switch_ns",)),
    ("io", "I/O paths", ("io_cost_ns",)),
    ("other", "Deadlines and the shared console", ("deadline", "console_sharing")),
)
# One line per board and timing, told apart without colour (red is for regressions).
LINE_STYLES = (("o", "-"), ("s", "--"), ("^", ":"), ("D", "-."))
REGRESSION_RED = "#c0392b"
MAX_XTICKS = 12

EXTRA_CSS = """
section.bad{background:#fdecea;border-left:4px solid #c0392b;padding:.2em 1em .6em}
section.bad h2{color:#a01e12;border-bottom-color:#e6b0aa}li.regression{color:#a01e12}
p.ok{color:#1e7e34}
div.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(26em,1fr));gap:.4em 1em}
figure.trend{margin:.3em 0;padding:.2em;border:1px solid transparent}
figure.trend figcaption{font-size:.85em}
figure.regressed{border:2px solid #c0392b;background:#fdf3f2}
td.regressed{background:#f9d6d2;color:#7b1409;font-weight:bold}
td small{display:block;white-space:nowrap;color:#555;font-weight:normal}
td.regressed small{color:#7b1409}table#runs td,table#runs th{white-space:nowrap}
"""


def _slug(path: str) -> str:
    return "metric-" + re.sub(r"[^A-Za-z0-9_-]+", "-", path)


def _number(metric: Metric, value: float) -> str:
    return fmt_time(value) if metric.unit == "ns" else f"{value:,.0f}"


# --- plots -----------------------------------------------------------------------------------


def y_limits(values: np.ndarray, *, integer: bool) -> tuple[float, float] | None:
    """Limits around the data (linear): a step of a few percent fills a good part of the plot."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    low, high = float(finite.min()), float(finite.max())
    pad = max((high - low) * 0.2, max(abs(low), abs(high)) * 0.01, 1.0 if integer else 1e-9)
    return low - pad, high + pad


def _xticks(axes: Any, count: int) -> None:
    step = max(1, -(-count // MAX_XTICKS))
    positions = list(range(0, count, step))
    axes.set_xticks(positions, [f"#{p + 1}" for p in positions], fontsize=7)


def metric_plot(frame: pd.DataFrame, metric: Metric, compared: Mapping[tuple[str, str], Delta],
                regressed: Iterable[str]) -> str:
    """One figure over the runs: a line per board and timing, regressed runs in red."""
    figure = Figure(figsize=(5.2, 2.3))
    axes = figure.add_subplot()
    values = frame[metric.path].to_numpy(dtype=float)
    unit, per_unit = (time_scale(float(np.nanmax(values))) if metric.unit == "ns"
                      else (metric.unit, 1.0))
    positions = np.arange(len(frame))
    groups = frame.groupby(["board", "timing"], sort=False).indices
    for (marker, line), ((board, timing), rows) in zip(LINE_STYLES * 4, groups.items()):
        axes.plot(positions[rows], values[rows] / per_unit, marker=marker, linestyle=line,
                  markersize=4, color="#2c5d9b", label=f"{board} ({timing})")
    for position, run_id in enumerate(frame["run_id"]):
        if run_id not in regressed:
            continue
        change = compared.get((str(run_id), metric.path))
        axes.plot([position], [values[position] / per_unit], marker="o", markersize=9,
                  color=REGRESSION_RED, markeredgecolor="black", linestyle="none")
        label = "regression" if change is None else f"{change.change_pct:+.1f}%"
        axes.annotate(label, (position, values[position] / per_unit), xytext=(-6, -4),
                      textcoords="offset points", ha="right", va="top", fontsize=8,
                      color=REGRESSION_RED, fontweight="bold")
    limits = y_limits(values / per_unit, integer=metric.unit != "ns")
    if limits:
        axes.set_ylim(*limits)
    axes.yaxis.set_major_formatter(StrMethodFormatter("{x:,g}"))
    if metric.unit != "ns" or per_unit == 1.0:
        axes.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    axes.set_xlim(-0.5, len(frame) - 0.5)
    _xticks(axes, len(frame))
    axes.tick_params(labelsize=7)
    axes.set_ylabel(unit, fontsize=8)
    axes.set_title(metric.label, fontsize=9, loc="left")
    axes.grid(True, alpha=0.3)
    if len(groups) > 1:
        axes.legend(fontsize=6)
    figure.tight_layout()
    return png_data_uri(figure)


def _figure(frame: pd.DataFrame, metric: Metric, compared: Mapping[tuple[str, str], Delta],
            regressed: Sequence[str]) -> str:
    newest = compared.get((str(frame["run_id"].iloc[-1]), metric.path))
    caption = esc(metric.label)
    if newest is not None:
        caption += f": newest {esc(_number(metric, newest.value))}"
    marked = f' data-regression="{esc(" ".join(regressed))}"' if regressed else ""
    uri = metric_plot(frame, metric, compared, regressed)
    return (f'<figure class="trend{" regressed" if regressed else ""}" id="{_slug(metric.path)}" '
            f'data-metric="{esc(metric.path)}"{marked}><figcaption>{caption}</figcaption>'
            f'<img data-plot="{esc(metric.path)}" alt="{esc(metric.label)} over runs" '
            f'src="{uri}"></figure>')


def _plot_sections(frame: pd.DataFrame, compared: Mapping[tuple[str, str], Delta],
                   regressed: Mapping[str, list[str]]) -> list[str]:
    sections = []
    for group, title, summary_sections in GROUPS:
        shown = [m for m in METRICS if m.path.split(".", 1)[0] in summary_sections
                 and frame[m.path].notna().any()]
        if not shown:
            continue
        figures = "".join(_figure(frame, m, compared, regressed.get(m.path, [])) for m in shown)
        sections.append(f'<section id="trend-{group}"><h2>{esc(title)}</h2>'
                        f'<div class="plots">{figures}</div></section>')
    return sections


# --- regressions and runs --------------------------------------------------------------------


def _run_link(run_id: str, reports: Mapping[str, str]) -> str:
    if run_id in reports:
        return f'<a class="run-report" href="{esc(reports[run_id])}">{esc(run_id)}</a>'
    return esc(run_id)


def _regressions_section(regressions: Sequence[Regression], window: int,
                         reports: Mapping[str, str]) -> str:
    if not regressions:
        return (f'<section id="regressions"><h2>Regressions</h2><p class="ok">None: the newest '
                f"run is no worse than the median of the {window} runs before it.</p></section>")
    items = "".join(
        f'<li class="regression" data-metric="{esc(r.metric.path)}" data-run="{esc(r.run_id)}">'
        f'{esc(r.describe())} (<a href="#{_slug(r.metric.path)}">plot</a>'
        + (f', <a href="{esc(reports[r.run_id])}">run report</a>' if r.run_id in reports else "")
        + ")</li>" for r in regressions)
    return (f'<section id="regressions" class="bad"><h2>Regressions: {len(regressions)}</h2>'
            f"<ul>{items}</ul></section>")


def _delta_cell(metric: Metric, compared: Delta | None) -> str:
    """A figure, then its baseline and change: the exact numbers in data- attributes."""
    if compared is None:
        return "<td></td>"
    attributes = (f'data-metric="{esc(metric.path)}" data-value="{compared.value!r}" '
                  f'data-baseline="{compared.baseline!r}"')
    text = esc(_number(metric, compared.value))
    if np.isnan(compared.baseline):
        return f"<td {attributes}>{text}<small>no baseline yet</small></td>"
    change = f"{compared.change_pct:+.1f}%" if compared.baseline else "-"
    if metric.unit == "ns":
        unit, per_unit = time_scale(max(abs(compared.baseline), abs(compared.change)))
        sign = "+" if compared.change >= 0 else ""
        change = f"{sign}{fmt_scaled(compared.change, per_unit)} {unit} ({change})"
    attributes += f' data-change-pct="{compared.change_pct!r}"'
    instructions = compared.change_instructions
    if instructions is not None:
        attributes += f' data-change-instructions="{instructions!r}"'
        change += f", {'+' if instructions >= 0 else ''}{fmt_instructions(instructions)} ins"
    css = ' class="regressed"' if compared.regressed else ""
    return (f"<td{css} {attributes}>{text}<small>base {esc(_number(metric, compared.baseline))}"
            f"</small><small>{esc(change)}</small></td>")


def _runs_table(frame: pd.DataFrame, compared: Mapping[tuple[str, str], Delta],
                regressed: Mapping[str, list[str]], reports: Mapping[str, str]) -> str:
    shown = [m for m in METRICS if m.path.endswith((".max", ".mean")) or m.path in regressed]
    head = "".join(f"<th>{esc(m.label)}</th>" for m in shown)
    rows = []
    for position, record in enumerate(frame.to_dict("records")):
        run_id = str(record["run_id"])
        cells = "".join(_delta_cell(m, compared.get((run_id, m.path))) for m in shown)
        rows.append(f'<tr data-run="{esc(run_id)}"><td>#{position + 1}</td>'
                    f"<th>{_run_link(run_id, reports)}</th><td>{esc(record['commit'])}</td>"
                    f"<td>{esc(record['board'])}</td><td>{esc(record['timing'])}</td>"
                    f"{cells}</tr>")
    table = (f'<table id="runs"><thead><tr><th>#</th><th>run (its report)</th><th>commit</th>'
             f"<th>board</th><th>timing</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
             "</table>")
    return ('<section id="runs-section"><h2>Runs</h2><p>Each figure, then its baseline (the '
            "median of the runs before it on the same board and timing) and the change: in % "
            "and, under icount, in instructions. Red: above the baseline's limit.</p>"
            f"{scroll(table)}</section>")


# --- the page --------------------------------------------------------------------------------


def write_run_reports(store: ResultStore, run_ids: Iterable[str], folder: Path) -> dict[str, Path]:
    """Each stored run's report in ``folder`` (``report-<run id>.html``), written when missing."""
    written = {}
    for run_id in run_ids:
        path = folder / report_file_name(run_id)
        if not path.is_file():
            try:
                render_run_report(store, run_id, path)
            except StoreError:
                continue  # not in this store (a trend from InfluxDB): listed without a link
        written[run_id] = path
    return written


def render_trend_report(frame: pd.DataFrame, regressions: Sequence[Regression], out: Path,
                        *, window: int, source: str, band: NoiseBand | None = None,
                        store: ResultStore | None = None) -> Path:
    """Write the trend over ``frame``'s runs (trend.figures_frame) to ``out``.

    ``window`` and ``band`` must be those ``regressions`` were found with: the
    page compares every run with its baseline the same way.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    reports: dict[str, str] = {}
    if store is not None and not frame.empty:
        found = write_run_reports(store, frame["run_id"].astype(str), out.parent / RUNS_DIR)
        reports = {run_id: Path(os.path.relpath(path, out.parent)).as_posix()
                   for run_id, path in found.items()}
    compared = deltas(frame, window=window, band=band or NoiseBand())
    regressed: dict[str, list[str]] = {}
    marked = {key for key, d in compared.items() if d.regressed}
    marked |= {(r.run_id, r.metric.path) for r in regressions}
    for run_id in frame["run_id"].astype(str):
        for metric in METRICS:
            if (run_id, metric.path) in marked:
                regressed.setdefault(metric.path, []).append(run_id)
    boards = ", ".join(sorted(set(frame["board"])))
    sections = [
        f"<p>{len(frame)} runs from {esc(source)}; board(s) {esc(boards)}. Runs are numbered "
        "#1 (oldest) on; a red point is a run above its baseline's limit.</p>",
        _regressions_section(regressions, window, reports),
    ]
    if not frame.empty:
        sections += _plot_sections(frame, compared, regressed)
        sections.append(_runs_table(frame, compared, regressed, reports))
    out.write_text(page("OVM Lab nightly trend", sections, extra_css=EXTRA_CSS), encoding="utf-8")
    return out
