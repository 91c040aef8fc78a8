"""The lab's result schema: one shape for every sample, in the local store and in InfluxDB.

Following InfluxDB's own advice on series cardinality: what reports group by
and that takes few values is a **tag**; everything else is a **field**,
including identifiers that are new every run (a tag per run id or commit
would start new series every night).

==================  =======================================================
measurement         ``irq_latency``, ``irq_deferred``, ``context_switch``,
                    ``io_cost`` (one device access per I/O path): one point
                    per sample; ``<measurement>_histogram``: one point per
                    bucket; ``deadline``: one point per experiment;
                    ``console``: one point per VM of the console-sharing
                    experiment (io_proxy)
tags                ``board`` (qemu-vexpress-a9, zc702), ``board_kind`` (qemu,
                    virtual, zc702), ``timing`` (icount, real), ``scenario``, ``test``
                    (the experiment), ``vm``, ``level`` (native, HRT, SRT, NRT;
                    SRT>NRT, NRT>SRT, linux for switches; for ``io_cost`` the
                    level names the path: HRT passthrough, SRT OVM proxy, NRT
                    host proxy), ``core``; histograms add ``le``
fields (samples)    ``value_ns`` (float: virtual ns under icount),
                    ``instructions`` (float, icount only: value_ns / 2^shift),
                    ``seq`` (int), ``run_id``, ``commit`` (strings),
                    ``icount_shift`` (int, icount only)
fields (histogram)  ``count`` (int: the samples in this bucket alone, above
                    the bucket below's ``le`` and up to this ``le``; not
                    cumulative), ``run_id``, ``commit``
fields (deadline)   ``periods``, ``misses``, ``handler_runs``, ``jobs``,
                    ``detected`` (int), ``max_detect_ns`` (float), ``run_id``,
                    ``commit``
fields (console)    ``lines``, ``line_bytes``, ``throttled`` (bytes OVM
                    refused), ``jobs``, ``refused_jobs`` (int; the last two
                    chatty's only), ``max_delay_ns`` (float: the VM's longest
                    line wait for the UART), ``bound_ns`` (float, the quiet
                    VM's only: what the sharing promises it, 2 rounds),
                    ``run_id``, ``commit``
time                the run's start (ns since the epoch) + ``seq`` ns: unique
                    per series within a run, and the same every time the run
                    is written again, so a second write overwrites instead of
                    adding (backfill is idempotent); a histogram's buckets all
                    at the run's start (one column of a heatmap per run; each
                    ``le`` is a series of its own)
==================  =======================================================

Histograms are laid out for Grafana's heatmap (``rowsFrame.layout: le``): one
series per bucket, tagged with its upper bound ``le``, holding that bucket's
own count, so a heatmap column shows where a run's samples lie (cumulative
counts, Telegraf's and Prometheus' layout, would paint every bucket above the
samples as full). Bucket bounds (``BUCKET_BOUNDS_NS``) are the preferred
numbers of the Renard R10 series (ISO 3: 100, 125, 160, 200, 250, 315, 400,
500, 630, 800, 1000, ...), ten per decade from 10 ns to 10 s: each bucket
about 26% wide, fine enough to tell 200 ns from 250 ns or 1,080 ns from
1,250 ns at any scale the lab measures, with bounds that read as round
numbers. Only the buckets from the one holding a series' smallest sample to
the one holding its largest are written (the empty ones between them with
count 0, so the heatmap shows gaps as gaps); samples above 10 s fall in
``le=+Inf``.

Scalars (``SCALAR_COLUMNS``, one row per figure) become one point per
(measurement, scenario, test, vm, level, core); a field ending in ``_ns`` is
a float, any other an integer. A ``deadline`` row's key is its experiment, a
``console`` row's its VM.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .catalogue import SCALAR_MEASUREMENTS

# The rows every source of samples produces (lab.evaluation.samples), and the store keeps.
SAMPLE_COLUMNS = ["measurement", "key", "scenario", "test", "vm", "level", "core", "seq", "value_ns"]
SCALAR_COLUMNS = ["measurement", "key", "scenario", "test", "vm", "level", "core", "field", "value"]
TAG_KEYS = ("board", "board_kind", "timing", "scenario", "test", "vm", "level", "core")
HISTOGRAM_SUFFIX = "_histogram"
DEADLINE_MEASUREMENT = "deadline"
CONSOLE_MEASUREMENT = "console"
# The Renard R10 preferred numbers (ISO 3): ten per decade, each about 10^(1/10) the last.
R10 = (1.0, 1.25, 1.6, 2.0, 2.5, 3.15, 4.0, 5.0, 6.3, 8.0)
# Upper bounds of the histogram buckets, ns: R10 from 10 ns to 10 s (then +Inf; see above).
BUCKET_BOUNDS_NS: tuple[float, ...] = tuple(
    round(mantissa * 10.0**exponent, 6) for exponent in range(1, 10) for mantissa in R10
) + (1e10,)


@dataclass(frozen=True)
class RunInfo:
    """Where a run came from: what every point of it carries."""

    run_id: str
    started_ns: int
    board: str
    board_kind: str
    timing: str
    icount_shift: int | None
    commit: str
    source: str = "lab"  # what ran it: lab, nightly, pytest, benchmark

    @staticmethod
    def new_id(started_ns: int, commit: str) -> str:
        stamp = pd.Timestamp(started_ns, unit="ns", tz="UTC").strftime("%Y%m%dT%H%M%S")
        return f"{stamp}-{commit}"


@dataclass(frozen=True)
class Point:
    measurement: str
    tags: dict[str, str]
    fields: dict[str, float | int | str]
    time_ns: int

    def line(self) -> str:
        """InfluxDB line protocol (nanosecond precision)."""
        tags = ",".join(f"{_escape_key(k)}={_escape_key(v)}" for k, v in sorted(self.tags.items()))
        fields = ",".join(f"{_escape_key(k)}={_field_value(v)}" for k, v in self.fields.items())
        head = _escape_key(self.measurement) + ("," + tags if tags else "")
        return f"{head} {fields} {self.time_ns}"


def _escape_key(text: object) -> str:
    return str(text).replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _field_value(value: float | int | str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return f"{int(value)}i"
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(float(value)):
            raise ValueError(f"InfluxDB takes no {value} as a field value")
        return repr(float(value))
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _tags(run: RunInfo, row: Any) -> dict[str, str]:
    return {
        "board": run.board, "board_kind": run.board_kind, "timing": run.timing,
        "scenario": str(row.scenario), "test": str(row.test), "vm": str(row.vm),
        "level": str(row.level), "core": str(int(row.core)),
    }


def sample_points(run: RunInfo, samples: pd.DataFrame) -> Iterator[Point]:
    """One point per sample (rows of SAMPLE_COLUMNS)."""
    per_instruction = 2.0**run.icount_shift if run.icount_shift is not None else None
    for row in samples.itertuples(index=False):
        fields: dict[str, float | int | str] = {
            "value_ns": float(row.value_ns), "seq": int(row.seq),
            "run_id": run.run_id, "commit": run.commit,
        }
        if per_instruction is not None and run.icount_shift is not None:
            fields["instructions"] = float(row.value_ns) / per_instruction
            fields["icount_shift"] = int(run.icount_shift)
        yield Point(str(row.measurement), _tags(run, row), fields, run.started_ns + int(row.seq))


def bucket_counts(values: np.ndarray,
                  bounds: Sequence[float] = BUCKET_BOUNDS_NS) -> list[tuple[str, int]]:
    """(le, count) of each bucket from the smallest sample's to the largest's; not cumulative.

    A sample equal to a bound belongs to that bound's bucket (``le``: less or equal).
    """
    edges = np.array([*bounds, math.inf])
    # The bucket of each sample: the first bound at or above it.
    index = np.searchsorted(edges, np.asarray(values, dtype=np.float64), side="left")
    counts = np.bincount(index, minlength=edges.size)
    first, last = int(index.min()), int(index.max())
    return [("+Inf" if math.isinf(edges[i]) else f"{edges[i]:.12g}", int(counts[i]))
            for i in range(first, last + 1)]


def histogram_points(run: RunInfo, samples: pd.DataFrame,
                     bounds: Sequence[float] = BUCKET_BOUNDS_NS) -> Iterator[Point]:
    """Each bucket's own count per (measurement, tags), one series per ``le``; see above."""
    group_keys = ["measurement", "scenario", "test", "vm", "level", "core"]
    for keys, group in samples.groupby(group_keys, sort=False):
        tags = _tags(run, group.iloc[0])
        for le, count in bucket_counts(group["value_ns"].to_numpy(), bounds):
            yield Point(
                f"{keys[0]}{HISTOGRAM_SUFFIX}", {**tags, "le": le},
                {"count": count, "run_id": run.run_id, "commit": run.commit},
                run.started_ns,
            )


def scalar_points(run: RunInfo, scalars: pd.DataFrame, measurement: str) -> Iterator[Point]:
    """One point per (scenario, test, vm, level, core) of a scalar measurement's rows."""
    chosen = scalars[scalars["measurement"] == measurement]
    for _, group in chosen.groupby(["scenario", "test", "vm", "level", "core"], sort=False):
        fields: dict[str, float | int | str] = {"run_id": run.run_id, "commit": run.commit}
        for row in group.itertuples(index=False):
            fields[str(row.field)] = (float(row.value) if row.field.endswith("_ns")
                                      else int(row.value))
        yield Point(measurement, _tags(run, group.iloc[0]), fields, run.started_ns)


@dataclass
class RunPoints:
    """Every point of one run, in the order they are written."""

    run: RunInfo
    points: list[Point] = field(default_factory=list)

    @classmethod
    def of(cls, run: RunInfo, samples: pd.DataFrame, scalars: pd.DataFrame) -> "RunPoints":
        return cls(run, [*sample_points(run, samples), *histogram_points(run, samples),
                         *(point for measurement in SCALAR_MEASUREMENTS
                           for point in scalar_points(run, scalars, measurement))])
