"""One run's HTML report: one self-contained file, read from the local store.

Everything in it is computed from the run's stored rows (``ResultStore``):
the percentile, deadline and switch tables from ``samples``/``scalars``, so
the page and the store can never disagree; only the paper's figures come
from the run's summary (``summary["paper"]``), as they are not measurements.

The file carries its own CSS and its plots as base64 PNG data URIs: it can be
mailed, attached to a CI job or opened years later with nothing else around.
Times read in ns up to 100 µs, then in µs, and from 10 ms on in ms (a
statistics table's row in the unit of its largest figure, its "unit" column
says which); a distribution of one value is drawn as a stem at that value.
Wide tables scroll in a box of their own, so the page never gets wider than
the window. Tables carry stable ids and ``data-`` attributes holding the exact values
in ns whatever unit the cell shows (``<table id="percentiles">``,
``<tr data-series="irq_latency/SRT">``,
``<td data-stat="p99" data-unit="ns" data-value="1080.0">``), so tests and
scripts read numbers back without parsing formatted text.

Latency histograms follow the paper's figures 7 and 8 and OSADL's latency
plots: latency on x, sample counts on a log-scale y (the rare tail is what
matters in real time), and the worst case as each plot's headline. The cost
of a device access on each I/O path (passthrough, OVM proxy, host proxy) and
the console's sharing have a table each ("I/O paths").
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import math
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# The Figure API with the Agg canvas, not pyplot: no global figure registry, so
# nothing is left open between plots and no GUI backend is ever chosen.
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullFormatter, StrMethodFormatter

from . import catalogue
from .schema import CONSOLE_MEASUREMENT, DEADLINE_MEASUREMENT, RunInfo
from .store import DEFAULT_STORE, ResultStore

NOT_MEASURED = "not measured in this run"
# Above this many samples in a run, each plot says when it starts and how long it took.
PROGRESS_THRESHOLD = 100_000
# Most bins a histogram gets; fewer when the data's own resolution is coarser.
MAX_BINS = 200
STATS = ("min", "p50", "p99", "p99.9", "max", "mean", "stdev")
QUANTILES = {"p50": 0.5, "p99": 0.99, "p99.9": 0.999}

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Shown:
    """A distribution as the page shows it: its ``measurement/key`` and its label."""

    id: str
    label: str

    @classmethod
    def of(cls, series: catalogue.Series) -> "Shown":
        return cls(series.id, series.plot_label)


# The catalogue's order (the paper's levels, the NRT's deferred interrupts apart).
LATENCY_SERIES = tuple(Shown.of(s) for s in catalogue.in_group("latency"))
SWITCH_SERIES = tuple(Shown.of(s) for s in catalogue.in_group("switch"))
IO_SERIES = tuple(Shown.of(s) for s in catalogue.in_group("io"))
KNOWN_SERIES = tuple(Shown.of(s) for s in catalogue.SERIES)


# --- numbers -------------------------------------------------------------------------------


def series_values(samples: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each series' values in ns, keyed by ``measurement/key``, in stored order."""
    grouped = samples.groupby(["measurement", "key"], sort=False)["value_ns"]
    return {f"{measurement}/{key}": group.to_numpy(dtype=np.float64)
            for (measurement, key), group in grouped}


def series_statistics(samples: pd.DataFrame) -> pd.DataFrame:
    """n and ``STATS`` in ns per series (index ``measurement/key``), with pandas.

    Quantiles interpolate linearly (pandas' and numpy's default); stdev is the
    sample standard deviation (ddof=1, pandas' default).
    """
    columns = ["n", *STATS]
    if samples.empty:
        return pd.DataFrame(columns=columns, dtype=np.float64)
    grouped = samples.groupby(["measurement", "key"], sort=False)["value_ns"]
    frame = grouped.agg(n="count", min="min", max="max", mean="mean", stdev="std")
    quantiles = grouped.quantile(list(QUANTILES.values())).unstack()
    quantiles.columns = list(QUANTILES)
    frame = frame.join(quantiles)
    frame.index = [f"{measurement}/{key}" for measurement, key in frame.index]
    return frame[columns]


def per_instruction_ns(run: RunInfo) -> float | None:
    """ns per instruction under icount (2^shift); None where time is real."""
    if run.timing == "icount" and run.icount_shift is not None:
        return float(2**run.icount_shift)
    return None


def ordered_series(present: Iterable[str]) -> list[Shown]:
    """The known series first, in the paper's order, then any other one found in the run."""
    known = {series.id for series in KNOWN_SERIES}
    extra = sorted(set(present) - known)
    return [*KNOWN_SERIES, *(Shown(name, name) for name in extra)]


# --- formatting ----------------------------------------------------------------------------


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def fmt_ns(value: float) -> str:
    """1,080 or 1,075.5: whole ns without decimals, a tenth otherwise."""
    if not math.isfinite(value):
        return "-"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


# Where a time is shown in a larger unit: from 100 us on in us, from 10 ms on in ms. Below,
# whole ns read best (a tick of 10 ns stays visible); above, 10,006,180 ns is 10.006 ms.
TIME_UNITS = (("ms", 1e6, 1e7), ("µs", 1e3, 1e5))


def time_scale(value_ns: float) -> tuple[str, float]:
    """The unit a time of this size reads best in, and ns per that unit."""
    for unit, per_unit, from_ns in TIME_UNITS:
        if math.isfinite(value_ns) and abs(value_ns) >= from_ns:
            return unit, per_unit
    return "ns", 1.0


def fmt_scaled(value_ns: float, per_unit: float) -> str:
    """A time in a unit of ``per_unit`` ns: ns as fmt_ns, larger units to 3 decimals at most."""
    if per_unit == 1.0 or not math.isfinite(value_ns):
        return fmt_ns(value_ns)
    return f"{value_ns / per_unit:,.3f}".rstrip("0").rstrip(".")


def fmt_time(value_ns: float) -> str:
    """A time with its unit: 1,080 ns, 869.47 µs, 10.006 ms."""
    unit, per_unit = time_scale(value_ns)
    return f"{fmt_scaled(value_ns, per_unit)} {unit}"


def fmt_ns_column(value_ns: float) -> str:
    """In a column headed ns: the bare number, or the number and its unit where it is larger."""
    unit, _ = time_scale(value_ns)
    return fmt_ns(value_ns) if unit == "ns" else fmt_time(value_ns)


def fmt_instructions(value: float) -> str:
    return f"{value:,.1f}" if math.isfinite(value) else "-"


def _cell(stat: str, unit: str, value: float, text: str) -> str:
    # repr(float) round-trips exactly: the data-value is the computed number itself.
    return (f'<td data-stat="{esc(stat)}" data-unit="{esc(unit)}" '
            f'data-value="{float(value)!r}">{esc(text)}</td>')


def _scalar_cell(field: str, value: float) -> str:
    """A run's single figure: ns when its field says so (``*_ns``), else a count."""
    if field.endswith("_ns"):
        return _cell(field, "ns", value, fmt_time(value))
    return _cell(field, "count", value, f"{value:,.0f}")


def headline(series: Shown, worst_ns: float, per_instruction: float | None) -> str:
    """The plot's title: the worst case, in instructions too under icount."""
    text = f"{series.label}: worst {fmt_time(worst_ns)}"
    if per_instruction is not None:
        text += f" ({fmt_instructions(worst_ns / per_instruction)} instructions)"
    return text


def time_unit(run: RunInfo) -> str:
    """What a 'ns' on this page is: the one sentence a reader must not miss."""
    shift = run.icount_shift
    if run.timing == "icount" and shift is not None:
        return (f"virtual ns under QEMU -icount shift={shift}: virtual ns = 2^{shift} x "
                f"instructions = {2**shift} x instructions, not ns on silicon")
    if run.board_kind in ("qemu", "virtual"):
        return "ns of host time as QEMU's emulated timers see it (no icount): not ns on silicon"
    return "ns of real time on the board's timers"


# --- plots ---------------------------------------------------------------------------------


def png_data_uri(figure: Figure) -> str:
    """Render a figure to an embedded PNG; then drop it (nothing else holds it)."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    # No Software/date metadata: the same run gives the same bytes.
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    figure.clear()
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def histogram_edges(values: np.ndarray, max_bins: int = MAX_BINS) -> np.ndarray:
    """Bin edges centred on the data's own step (10 ns ticks under icount), at most max_bins.

    Bins narrower than the timer's tick would leave every other bin empty (a
    comb on a log axis); the step is the smallest gap between distinct values.
    """
    distinct = np.unique(values)
    low, high = float(distinct[0]), float(distinct[-1])
    if distinct.size == 1:
        half = max(abs(low) * 0.01, 0.5)
        return np.array([low - half, high + half])
    span = high - low
    step = float(np.diff(distinct).min())
    width = step * max(1, math.ceil(span / step / max_bins))
    # Bins centred on low, low + width, ...: the last one holds high.
    count = int(math.floor(span / width + 0.5)) + 1
    return low - width / 2 + width * np.arange(count + 1)


def constant_range(value: float) -> tuple[float, float]:
    """An x range around a distribution of one value: wide enough to read, in whole ns.

    One bin of the data's own width would fill the axis and get fractional-ns
    ticks; a stem in the middle of a few percent (at least 10 ns) reads as what it is.
    """
    half = max(10.0, math.ceil(abs(value) * 0.05 / 10.0) * 10.0)
    return value - half, value + half


def _axis_label(what: str, unit: str, per_instruction: float | None) -> str:
    return f"{what} [{'virtual ' if per_instruction else ''}{unit}]"


def _style(axes: Any, xlabel: str, per_instruction: float | None, per_unit: float) -> None:
    """Axes shared by every plot: log counts from 1 sample up, times with thousands separators."""
    axes.set_ylim(bottom=0.5)  # a single outlier still shows as a bar
    axes.set_xlabel(xlabel, fontsize=8)
    axes.set_ylabel("samples (log)", fontsize=8)
    # Counts at the decades only: "6 x 10^0" minor labels read as noise.
    axes.yaxis.set_minor_formatter(NullFormatter())
    if per_unit == 1.0:
        # ns are whole on every timer the lab reads: no 199.5 ns tick.
        axes.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
    axes.xaxis.set_major_formatter(StrMethodFormatter("{x:,g}"))
    axes.tick_params(labelsize=8)
    axes.grid(True, which="major", alpha=0.3)
    _instruction_axis(axes, per_instruction, per_unit)


def _instruction_axis(axes: Any, per_instruction: float | None, per_unit: float = 1.0) -> None:
    if per_instruction is not None:
        per_shown = per_instruction / per_unit  # instructions per unit of the x axis
        top = axes.secondary_xaxis("top", functions=(lambda x: x / per_shown,
                                                     lambda ins: ins * per_shown))
        top.set_xlabel("instructions", fontsize=8)
        top.xaxis.set_major_formatter(StrMethodFormatter("{x:,g}"))
        top.tick_params(labelsize=8)


def _histogram(axes: Any, values: np.ndarray, per_unit: float, **style: Any) -> None:
    """A distribution on an x axis in units of ``per_unit`` ns; a stem if it is one value."""
    distinct = np.unique(values)
    if distinct.size == 1:
        low, high = constant_range(float(distinct[0]))
        axes.bar([distinct[0] / per_unit], [values.size], width=(high - low) / per_unit / 40,
                 log=True, color=style.get("color", "#4a7ab5"), label=style.get("label"))
        axes.set_xlim(low / per_unit, high / per_unit)
        return
    edges = histogram_edges(values) / per_unit
    axes.hist(values / per_unit, bins=edges.tolist(), log=True, **style)


def latency_plot(values: np.ndarray, series: Shown, run: RunInfo) -> str:
    """One latency histogram, OSADL style: log counts, worst case marked and in the title."""
    per_instruction = per_instruction_ns(run)
    figure = Figure(figsize=(7.5, 3.2))
    axes = figure.add_subplot()
    worst = float(values.max())
    unit, per_unit = time_scale(worst)
    # Bars with gaps: under icount latencies are discrete (one bar per tick), as in the paper.
    _histogram(axes, values, per_unit, histtype="bar", rwidth=0.85, color="#4a7ab5")
    axes.axvline(worst / per_unit, color="#c0392b", linestyle="--", linewidth=1)
    axes.set_title(headline(series, worst, per_instruction), fontsize=10, loc="left")
    _style(axes, _axis_label("latency", unit, per_instruction), per_instruction, per_unit)
    figure.tight_layout()
    return png_data_uri(figure)


SWITCH_COLOURS = ("#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def switch_plot(values: Mapping[str, np.ndarray], run: RunInfo) -> str:
    """OVM's switches and Linux's process switch on one axis: the two costs side by side."""
    per_instruction = per_instruction_ns(run)
    figure = Figure(figsize=(7.5, 3.4))
    axes = figure.add_subplot()
    everything = np.concatenate(list(values.values()))
    unit, per_unit = time_scale(float(everything.max()))
    edges = (histogram_edges(everything) / per_unit).tolist()
    for series, colour in zip(SWITCH_SERIES, SWITCH_COLOURS):
        if series.id in values:
            data = values[series.id]
            label = f"{series.label}, mean {fmt_time(float(data.mean()))}"
            if np.unique(data).size == 1:
                _histogram(axes, data, per_unit, color=colour, label=label)
            else:
                axes.hist(data / per_unit, bins=edges, log=True, histtype="step", linewidth=1.2,
                          color=colour, label=label)
            axes.axvline(float(data.mean()) / per_unit, color=colour, linestyle=":", linewidth=1)
    axes.set_title("vCPU switch (OVM) vs process switch (Linux)", fontsize=10, loc="left")
    axes.legend(fontsize=7, loc="upper center")
    _style(axes, _axis_label("switch time", unit, per_instruction), per_instruction, per_unit)
    figure.tight_layout()
    return png_data_uri(figure)


class _Timer:
    """Says which plot is being drawn and how long it took, once there are many samples."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress

    def plot(self, name: str, count: int, draw: Callable[[], str]) -> str:
        if self.progress is None:
            return draw()
        started = time.perf_counter()
        self.progress(f"report: plotting {name} ({count:,} samples)")
        uri = draw()
        self.progress(f"report: plotted {name} in {time.perf_counter() - started:.2f} s")
        return uri


# --- sections ------------------------------------------------------------------------------


def _missing(series_id: str, what: str) -> str:
    return (f'<p class="missing" data-series="{esc(series_id)}">{esc(what)}: '
            f"{NOT_MEASURED}</p>")


def provenance_section(run: RunInfo, summary: Mapping[str, Any]) -> str:
    """Where the numbers came from, before any number."""
    started = pd.Timestamp(run.started_ns, unit="ns", tz="UTC").strftime("%Y-%m-%d %H:%M:%S UTC")
    rows = [
        ("board", run.board), ("board_kind", run.board_kind), ("timing", run.timing),
        ("icount_shift", "-" if run.icount_shift is None else run.icount_shift),
        ("commit", run.commit), ("run_id", run.run_id), ("date", started),
        ("source", run.source),
    ]
    if "timer_hz" in summary:
        rows.append(("timer_hz", f"{summary['timer_hz']:,}"))
    body = "".join(f'<tr data-field="{esc(k)}"><th>{esc(k)}</th><td>{esc(v)}</td></tr>'
                   for k, v in rows)
    return ('<section id="provenance"><h2>Where these results come from</h2>'
            + scroll(f'<table id="run">{body}</table>')
            + '<p class="unit" id="unit"><strong>Units:</strong> every ns on this page is '
            f"{esc(time_unit(run))} (µs and ms are the same, a thousand and a million of them)."
            "</p></section>")


def latency_section(values: Mapping[str, np.ndarray], run: RunInfo, timer: _Timer) -> str:
    """A histogram per level, or a line saying the level was not measured."""
    per_instruction = per_instruction_ns(run)
    parts = ['<section id="latency"><h2>Interrupt latency per level</h2>',
             "<p>From the timer's expiry to the handler's first instruction; counts on a log "
             "scale, the dashed line is the worst case.</p>"]
    for series in LATENCY_SERIES:
        data = values.get(series.id)
        if data is None or data.size == 0:
            parts.append(_missing(series.id, series.label))
            continue
        worst = float(data.max())
        uri = timer.plot(series.id, data.size, partial(latency_plot, data, series, run))
        parts.append(
            f'<figure data-series="{esc(series.id)}">'
            f'<figcaption><h3 class="headline" data-series="{esc(series.id)}" '
            f'data-worst-ns="{worst!r}">{esc(headline(series, worst, per_instruction))}</h3>'
            f"</figcaption>"
            f'<img data-plot="{esc(series.id)}" alt="{esc(series.label)} latency histogram" '
            f'src="{uri}"></figure>')
    parts.append("</section>")
    return "".join(parts)


def _units(run: RunInfo) -> list[tuple[str, float]]:
    """The units a statistics table shows: ns, and instructions under icount."""
    per_instruction = per_instruction_ns(run)
    return [("ns", 1.0)] + ([("instructions", per_instruction)] if per_instruction else [])


def _stats_head(first: str, names: Sequence[str], units: Sequence[tuple[str, float]]) -> str:
    """Two header rows; the time group's unit is each row's own (its "unit" column)."""
    groups = "".join(f'<th colspan="{len(names)}">{"time" if unit == "ns" else unit}</th>'
                     for unit, _ in units)
    return (f"<tr><th rowspan=2>{first}</th><th rowspan=2>n</th><th rowspan=2>unit</th>"
            + groups + "</tr><tr>"
            + "".join(f"<th>{name}</th>" for _ in units for name in names) + "</tr>")


def scroll(table: str) -> str:
    """A table in a box of its own that scrolls sideways: the page never gets wider."""
    return f'<div class="scroll">{table}</div>'


def _stats_rows(series_list: Iterable[Shown], stats: pd.DataFrame, names: Sequence[str],
                units: Sequence[tuple[str, float]]) -> list[str]:
    """One row per series: n, then each statistic in each unit (or "not measured")."""
    rows = []
    for series in series_list:
        if series.id not in stats.index:
            rows.append(f'<tr data-series="{esc(series.id)}" class="missing">'
                        f"<th>{esc(series.label)}</th>"
                        f'<td colspan="{2 + len(names) * len(units)}">{NOT_MEASURED}</td></tr>')
            continue
        figures = stats.loc[series.id]
        # One unit per row, the one its largest figure reads best in; data-value stays in ns.
        shown, per_unit = time_scale(float(figures[list(names)].abs().max()))
        cells = [f"<th>{esc(series.label)}</th>",
                 _cell("n", "samples", figures["n"], f"{int(figures['n']):,}"),
                 f'<td class="unit" data-shown-unit="{esc(shown)}">{esc(shown)}</td>']
        for unit, divisor in units:
            for name in names:
                value = float(figures[name]) / divisor
                text = (fmt_scaled(value, per_unit) if unit == "ns"
                        else fmt_instructions(value))
                cells.append(_cell(name, unit, value, text))
        rows.append(f'<tr data-series="{esc(series.id)}">{"".join(cells)}</tr>')
    return rows


def percentile_section(stats: pd.DataFrame, run: RunInfo) -> str:
    """min/p50/p99/p99.9/max/mean/stdev per series, in instructions too under icount."""
    units = _units(run)
    head = _stats_head("series", STATS, units)
    rows = _stats_rows(ordered_series(stats.index), stats, STATS, units)
    return ('<section id="statistics"><h2>Percentiles per series</h2>'
            "<p>Computed from the stored samples (linear interpolation; stdev with ddof=1). "
            "Times in the row's unit; instructions under icount.</p>"
            + scroll(f'<table id="percentiles" class="compact"><thead>{head}</thead>'
                     f'<tbody>{"".join(rows)}</tbody></table>') + "</section>")


def _deadline_rows(chosen: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(experiment, field, label): known experiments and fields first, then the rest as stored."""
    stored = list(dict.fromkeys(zip(chosen["key"], chosen["field"])))
    known = [(f.key, f.field, f.label) for f in catalogue.figures_of(DEADLINE_MEASUREMENT)
             if (f.key, f.field) in stored]
    listed = {(experiment, field) for experiment, field, _ in known}
    return known + [(e, f, f) for e, f in stored if (e, f) not in listed]


def deadline_section(scalars: pd.DataFrame, paper: Mapping[str, Any] | None) -> str:
    """Deadline misses: none when schedulable, every one detected and how fast when not."""
    chosen = scalars[scalars["measurement"] == DEADLINE_MEASUREMENT]
    if chosen.empty:
        return (f'<section id="deadline"><h2>Deadline misses</h2>'
                f'<p class="missing" data-series="deadline">Deadline experiments: '
                f"{NOT_MEASURED}</p></section>")
    figures = {(row.key, row.field): float(row.value) for row in chosen.itertuples(index=False)}
    rows = []
    for experiment, field, label in _deadline_rows(chosen):
        rows.append(f'<tr data-experiment="{esc(experiment)}" data-field="{esc(field)}">'
                    f"<th>{esc(experiment)}</th><td>{esc(label)}</td>"
                    f"{_scalar_cell(field, figures[(experiment, field)])}</tr>")
    notes = []
    if ("schedulable", "misses") in figures:
        notes.append(f"schedulable: {figures[('schedulable', 'misses')]:,.0f} misses in "
                     f"{figures.get(('schedulable', 'periods'), float('nan')):,.0f} periods "
                     "(the paper: none)")
    if ("overload", "misses") in figures and ("overload", "detected") in figures:
        within = (paper or {}).get("deadline", {}).get("overload", {}).get("detect_within_ns")
        text = (f"overload: {figures[('overload', 'detected')]:,.0f} of "
                f"{figures[('overload', 'misses')]:,.0f} misses detected")
        if within is not None:
            text += f" (the paper: every one, within {fmt_time(float(within))})"
        notes.append(text)
    return ('<section id="deadline"><h2>Deadline misses</h2>'
            + scroll(f'<table id="deadlines"><thead><tr><th>experiment</th><th>figure</th>'
                     f'<th>value</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')
            + "".join(f"<p>{esc(n)}</p>" for n in notes) + "</section>")


SWITCH_STATS = ("min", "mean", "p50", "p99", "max")


def _paper_ratio(paper: Mapping[str, Any] | None) -> str:
    """The paper's OVM/Linux ratio of mean switch times, from its own figures."""
    ovm = _lookup(paper or {}, ("context_switch_ns", "ovm"))
    linux = _lookup(paper or {}, ("context_switch_ns", "linux"))
    if not ovm or not linux or "mean" not in ovm or "mean" not in linux:
        return ""
    return (f"the paper: {fmt_ns(ovm['mean'])}/{fmt_ns(linux['mean'])} = "
            f"{ovm['mean'] / linux['mean']:.2f} ({(paper or {}).get('unit', '?')})")


def switch_section(values: Mapping[str, np.ndarray], stats: pd.DataFrame, run: RunInfo,
                   summary: Mapping[str, Any], timer: _Timer) -> str:
    """OVM's vCPU switch, both ways, against Linux's process switch; and the ratio of means."""
    paper = summary.get("paper")
    units = _units(run)
    head = _stats_head("switch", SWITCH_STATS, units)
    rows = _stats_rows(SWITCH_SERIES, stats, SWITCH_STATS, units)
    linux = "context_switch/linux"
    for series in SWITCH_SERIES[:2]:
        key = series.id.split("/", 1)[1]
        name = f"ratio/{key}"
        label = f"mean ratio: {series.label} / Linux"
        if series.id in stats.index and linux in stats.index:
            ratio = float(stats.loc[series.id, "mean"]) / float(stats.loc[linux, "mean"])
            rows.append(f'<tr data-series="{name}"><th>{esc(label)}</th>'
                        f'{_cell("ratio", "ratio", ratio, f"{ratio:.3f}")}'
                        f'<td colspan="{1 + len(SWITCH_STATS) * len(units)}">'
                        f"{esc(_paper_ratio(paper) if key == 'ovm' else '')}</td></tr>")
        else:
            rows.append(f'<tr data-series="{name}" class="missing"><th>{esc(label)}</th>'
                        f'<td colspan="{2 + len(SWITCH_STATS) * len(units)}">{NOT_MEASURED}'
                        f"</td></tr>")
    present = {s.id: values[s.id] for s in SWITCH_SERIES if s.id in values and values[s.id].size}
    if present:
        count = sum(v.size for v in present.values())
        uri = timer.plot("context_switch", count, partial(switch_plot, present, run))
        plot = (f'<figure data-series="context_switch"><img data-plot="context_switch" '
                f'alt="switch time distributions" src="{uri}"></figure>')
    else:
        plot = _missing("context_switch", "Switch times")
    method = summary.get("method") or {}
    methods = "".join(f"<li><strong>{esc(k)}</strong>: {esc(method[k])}</li>"
                      for k in ("context_switch_ovm", "context_switch_linux") if method.get(k))
    return ('<section id="switch"><h2>Context switch: OVM vs Linux</h2>'
            + scroll(f'<table id="context-switch"><thead>{head}</thead>'
                     f'<tbody>{"".join(rows)}</tbody></table>')
            + plot + (f"<ul>{methods}</ul>" if methods else "") + "</section>")


IO_STATS = ("min", "mean", "p50", "p99", "max")
# The console's figures per VM: (field, label), in the catalogue's order; others follow as stored.
CONSOLE_FIELDS = tuple(dict.fromkeys((f.field, f.label)
                                     for f in catalogue.figures_of(CONSOLE_MEASUREMENT)))


def _console_table(scalars: pd.DataFrame) -> str:
    """The console's sharing per VM (io_proxy): its lines, their worst wait, the bound."""
    chosen = scalars[scalars["measurement"] == CONSOLE_MEASUREMENT]
    if chosen.empty:
        return _missing("console", "Console sharing")
    figures = {(row.key, row.field): float(row.value) for row in chosen.itertuples(index=False)}
    vms = list(dict.fromkeys(chosen["key"]))
    vms.sort(key=lambda vm: {"quiet": 0, "chatty": 1}.get(vm, 2))
    labels = dict(CONSOLE_FIELDS)
    order = {field: index for index, (field, _) in enumerate(CONSOLE_FIELDS)}
    rows = []
    for vm in vms:
        fields = sorted((f for v, f in figures if v == vm), key=lambda f: order.get(f, len(order)))
        for field in fields:
            rows.append(f'<tr data-row="console/{esc(vm)}/{esc(field)}"><th>{esc(vm)}</th>'
                        f"<td>{esc(labels.get(field, field))}</td>"
                        f"{_scalar_cell(field, figures[(vm, field)])}</tr>")
    notes = []
    if ("quiet", "max_delay_ns") in figures and ("quiet", "bound_ns") in figures:
        worst, bound = figures[("quiet", "max_delay_ns")], figures[("quiet", "bound_ns")]
        notes.append(f"quiet: worst line wait {fmt_time(worst)}, "
                     f"{'within' if worst <= bound else 'OVER'} the bound of {fmt_time(bound)}")
    if ("chatty", "throttled") in figures:
        notes.append(f"chatty: {figures[('chatty', 'throttled')]:,.0f} writes refused "
                     "(over its share)")
    return (scroll(f'<table id="console-sharing"><thead><tr><th>VM</th><th>figure</th>'
                   f'<th>value</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')
            + "".join(f"<p>{esc(n)}</p>" for n in notes))


def io_section(stats: pd.DataFrame, scalars: pd.DataFrame, run: RunInfo,
               summary: Mapping[str, Any]) -> str:
    """The cost of one device access on each I/O path; the console's sharing."""
    units = _units(run)
    head = _stats_head("I/O path", IO_STATS, units)
    rows = _stats_rows(IO_SERIES, stats, IO_STATS, units)
    method = summary.get("method") or {}
    methods = "".join(f"<li><strong>{esc(k)}</strong>: {esc(method[k])}</li>"
                      for k in ("io_cost", "console_sharing") if method.get(k))
    return ('<section id="io"><h2>I/O paths</h2>'
            "<p>One device access per path, timed by the guest less the cost of reading the "
            "time: direct (passthrough), served by OVM (OVM proxy), served by the host "
            "guest (host proxy).</p>"
            + scroll(f'<table id="io-cost"><thead>{head}</thead><tbody>{"".join(rows)}</tbody>'
                     "</table>")
            + f"<h3>Console sharing</h3>{_console_table(scalars)}"
            + (f"<ul>{methods}</ul>" if methods else "") + "</section>")


# (row id, label, path in summary["paper"]): every series; the paper has no NRT-deferred,
# NRT->SRT or I/O figure, and gives SRT and NRT one row.
PAPER_ROWS = tuple((s.id, s.label, s.paper.path) for s in catalogue.SERIES)
PAPER_STATS = ("min", "mean", "max")


def _lookup(tree: Mapping[str, Any], path: Sequence[str] | None) -> Mapping[str, Any] | None:
    node: Any = tree
    for part in path or ():
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node if path and isinstance(node, Mapping) else None


def paper_section(paper: Mapping[str, Any] | None, stats: pd.DataFrame, run: RunInfo) -> str:
    """The paper's figures beside ours, each side with its unit and origin."""
    if not paper:
        return ('<section id="paper"><h2>Beside the paper</h2><p class="missing" '
                'data-series="paper">The paper\'s figures: not in this run\'s summary</p>'
                "</section>")
    per_instruction = per_instruction_ns(run)
    head = (f'<tr><th rowspan=2>figure</th><th colspan="3">paper: {esc(paper.get("unit", "?"))}'
            f'</th><th colspan="3">ours: ns ({esc(run.timing)})</th>'
            + ('<th colspan="3">ours: instructions</th>' if per_instruction else "")
            + "</tr><tr>" + "<th>min</th><th>mean</th><th>max</th>"
            * (3 if per_instruction else 2) + "</tr>")
    rows = []
    for row_id, label, path in PAPER_ROWS:
        theirs = _lookup(paper, path)
        cells = [f"<th>{esc(label)}</th>"]
        for stat in PAPER_STATS:
            cells.append(_cell(stat, "paper", float(theirs[stat]),
                               fmt_ns_column(float(theirs[stat])))
                         if theirs and stat in theirs else "<td>-</td>")
        if row_id in stats.index:
            for divisor, unit, show in ((1.0, "ns", fmt_ns_column),
                                        (per_instruction, "instructions", fmt_instructions)):
                if divisor is None:
                    continue
                cells += [_cell(s, unit, float(stats.loc[row_id, s]) / divisor,
                                show(float(stats.loc[row_id, s]) / divisor)) for s in PAPER_STATS]
        else:
            cells.append(f'<td colspan="{6 if per_instruction else 3}">{NOT_MEASURED}</td>')
        rows.append(f'<tr data-row="{esc(row_id)}">{"".join(cells)}</tr>')
    overload = _lookup(paper, ("deadline", "overload"))
    if overload and "detect_within_ns" in overload:
        within = float(overload["detect_within_ns"])
        rows.append(f'<tr data-row="deadline/overload"><th>overload miss detected within</th>'
                    f'{_cell("max", "paper", within, fmt_ns_column(within))}'
                    f'<td colspan="{8 if per_instruction else 5}">see the deadline table</td></tr>')
    return (f'<section id="paper"><h2>Beside the paper</h2>'
            f"<p>Paper: {esc(paper.get('origin', '?'))}; unit: {esc(paper.get('unit', '?'))}. "
            f"Ours: {esc(run.board)}, {esc(time_unit(run))}. Under icount compare added "
            f"instructions, not ratios to the paper's ns.</p>"
            + scroll(f'<table id="paper-figures"><thead>{head}</thead>'
                     f'<tbody>{"".join(rows)}</tbody></table>') + "</section>")


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:70em;
color:#222;line-height:1.4;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.2em;
margin-top:2em}h3{font-size:1em;margin:.2em 0}
table{border-collapse:collapse;font-size:.85em;margin:0}
th,td{border:1px solid #ccc;padding:.2em .5em}td{text-align:right;font-variant-numeric:
tabular-nums}thead th{background:#f0f3f7}tbody th{text-align:left;font-weight:normal}
div.scroll{overflow-x:auto;max-width:100%;margin:.5em 0}
table.compact{font-size:.8em}table.compact th,table.compact td{padding:.15em .35em}
td.unit{text-align:left;color:#555}
tr.missing td{text-align:left;color:#888;font-style:italic}
p.missing{color:#888;font-style:italic}p.unit{background:#fff7e0;border-left:4px solid #e0a800;
padding:.4em .8em}figure{margin:1em 0}img{max-width:100%}
"""


def page(title: str, sections: Sequence[str], *, extra_css: str = "") -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}</title><style>{CSS}{extra_css}</style></head><body>"
            f"<h1>{esc(title)}</h1>{''.join(sections)}</body></html>\n")


def report_file_name(run_id: str) -> str:
    """A run's report's name in a folder of reports (the nightly's ``runs/``, ``--out DIR``)."""
    return f"report-{run_id}.html"


def _report_path(out: Path, run_id: str) -> Path:
    """``out`` as given, or ``out/report-<run id>.html`` when it is a directory."""
    path = out / report_file_name(run_id) if out.is_dir() else out
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def render_run_report(store: ResultStore, run_id: str, out: Path, *,
                      progress: Progress | None = None) -> Path:
    """Write one run's report to ``out`` (a file, or a directory to put it in); its path.

    An unknown run raises the store's StoreError before anything is written.
    ``progress`` gets a line per plot; by default they go to stderr once the
    run has ``PROGRESS_THRESHOLD`` samples or more.
    """
    run = store.run_info(run_id)
    summary = store.summary(run_id)
    samples = store.samples(run_id)
    scalars = store.scalars(run_id)
    if progress is None and len(samples) >= PROGRESS_THRESHOLD:
        progress = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    timer = _Timer(progress)
    values = series_values(samples)
    stats = series_statistics(samples)
    paper = summary.get("paper")
    sections = [
        provenance_section(run, summary),
        latency_section(values, run, timer),
        percentile_section(stats, run),
        deadline_section(scalars, paper),
        switch_section(values, stats, run, summary, timer),
        io_section(stats, scalars, run, summary),
        paper_section(paper, stats, run),
    ]
    path = _report_path(out, run_id)
    path.write_text(page(f"OVM Lab run {run.run_id}", sections), encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write one stored run's HTML report.")
    parser.add_argument("run_id", nargs="?", help="a stored run (default: the latest)")
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE)
    parser.add_argument("--out", type=Path, default=Path("."))
    args = parser.parse_args(argv)
    if not args.store.exists():
        parser.error(f"{args.store}: no store here (make lab writes one)")
    store = ResultStore(args.store)
    runs = store.runs(last=1)
    if not args.run_id and runs.empty:
        parser.error(f"{args.store}: no runs stored")
    run_id = args.run_id or str(runs["run_id"].iloc[-1])
    print(render_run_report(store, run_id, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
