"""A stored run's latencies in the JSON layout of rt-tests' ``cyclictest --json=FILE``.

So that tools written for cyclictest results (OSADL-style histogram plots,
rteval-like collectors, CI dashboards) read ours unchanged. The layout is the
one ``rt_write_json()`` (src/lib/rt-utils.c) and cyclictest's ``write_stats()``
(src/cyclictest/cyclictest.c) print, checked against rt-tests v2.1 (commit
667e1aae) and v2.5::

    {
      "file_version": 1,
      "cmdline:": "...",            <- sic: the colon is inside the key
      "rt_test_version:": "2.50",   <- sic; "%1.2f" of the VERSION macro
      "start_time": "Fri, 27 Nov 2026 02:43:30 +0000",   (RFC 2822, strftime)
      "end_time": "...",
      "return_code": 0,
      "sysinfo": {"sysname", "nodename", "release", "version", "machine": uname(2),
                  "realtime": 1 if /sys/kernel/realtime reads 1 else 0},
      "num_threads": N,
      "resolution_in_ns": 0 | 1,    <- a flag (--nsecs given), not a resolution
      "thread": {
        "0": {"histogram": {"<bucket>": count, ...}, "cycles": n, "min": int,
              "max": int, "avg": float (%.2f), "cpu": int, "node": int},
        ...
      }
    }

A histogram bucket is one latency unit: µs by default, ns with ``--nsecs``
(then ``resolution_in_ns`` is 1); the key is the latency truncated to that
unit (``calcdiff()`` divides by 1000 in integers). Only non-empty buckets are
written, in increasing order; latencies at or above the ``-h`` size are
overflows and are in no bucket (cyclictest caps ``-h`` at 1,000,000). min and
max are integers in the same unit; avg is the mean of those integers.

**Mapping.** cyclictest has one thread per CPU measuring one latency; we have
one latency series per level. Each series (``irq_latency`` native, HRT, SRT,
NRT, then ``irq_deferred`` NRT) becomes one thread entry, numbered in that
order; the ``cmdline:`` string says which thread is which series, as the
layout has no per-thread name. Context switches and I/O costs are not
latencies and are left out.

**Fields with no meaning here**, and what they hold:

- ``cmdline:``: no cyclictest ran; it holds what made the file instead: this
  module, the run id, the unit, the histogram size (cyclictest's ``-h``) and
  the thread -> series mapping (``0=irq_latency/native@core0,...``).
- ``rt_test_version:``: the rt-tests release whose layout this follows (2.5).
- ``end_time``: the store keeps no end of run; it repeats ``start_time``.
- ``return_code``: 0; only completed runs are stored.
- ``sysinfo``: no uname of a Linux target: sysname "OVM", nodename the board,
  release the commit, version the timing (icount shift), machine "armv7l"
  (Cortex-A9); realtime 0 (no PREEMPT_RT kernel, no /sys/kernel/realtime).
- ``node``: -1, what cyclictest writes without ``--numa`` (no NUMA here).
- ``cpu``: the core the series was measured on (the ``core`` tag).

Under icount the "ns" are virtual ns (2^shift per instruction), not ns on
silicon: the file cannot say so, the ``sysinfo.version`` string does.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .catalogue import in_group
from .schema import RunInfo
from .store import DEFAULT_STORE, ResultStore

FILE_VERSION = 1
RT_TESTS_VERSION = 2.5  # the layout followed; printed "%1.2f" like cyclictest does
HIST_MAX = 1_000_000  # cyclictest's cap on -h; not applied here (see histogram_size)
UNITS_NS = {"ns": 1.0, "us": 1000.0}
# The latency series, in thread order: (measurement, key).
THREAD_SERIES = tuple((s.measurement, s.key) for s in in_group("latency"))


def rfc2822(started_ns: int) -> str:
    """cyclictest's timestamp format ("%a, %d %b %Y %T %z"), in UTC."""
    return pd.Timestamp(started_ns, unit="ns", tz="UTC").strftime("%a, %d %b %Y %H:%M:%S %z")


def latencies(samples: pd.DataFrame) -> list[tuple[str, int, np.ndarray]]:
    """(series id, core, values in ns) for each latency series the run has, in thread order."""
    found = []
    for measurement, key in THREAD_SERIES:
        rows = samples[(samples["measurement"] == measurement) & (samples["key"] == key)]
        if not rows.empty:
            found.append((f"{measurement}/{key}", int(rows["core"].iloc[0]),
                          rows["value_ns"].to_numpy(dtype=np.float64)))
    return found


def buckets(values_ns: np.ndarray, unit: str) -> np.ndarray:
    """Latencies as cyclictest holds them: whole units, truncated (``calcdiff``)."""
    if values_ns.size and float(values_ns.min()) < 0:
        raise ValueError("cyclictest has no negative latencies (a histogram index)")
    # Rounded to 1e-6 first: 1000.9999999 from a 3 ns tick's float is 1001 ns, not 1000.
    return np.floor(np.round(values_ns / UNITS_NS[unit], 6)).astype(np.int64)


def thread_entry(values_ns: np.ndarray, core: int, unit: str) -> dict[str, Any]:
    """One "thread": its sparse histogram and its cycles/min/max/avg, as write_stats() prints."""
    whole = buckets(values_ns, unit)
    counts = pd.Series(whole).value_counts().sort_index()
    return {
        "histogram": {str(int(bucket)): int(count) for bucket, count in counts.items()},
        "cycles": int(whole.size),
        "min": int(whole.min()),
        "max": int(whole.max()),
        "avg": round(float(whole.mean()), 2),
        "cpu": core,
        "node": -1,
    }


def histogram_size(series: Sequence[tuple[str, int, np.ndarray]], unit: str) -> int:
    """The ``-h`` that keeps every sample in a bucket: one past the largest.

    Not capped at HIST_MAX as cyclictest would be: no sample becomes an
    overflow, so every histogram sums to its thread's cycles.
    """
    largest = max((int(buckets(values, unit).max()) for _, _, values in series), default=0)
    return largest + 1


def _cmdline(run: RunInfo, unit: str, size: int,
             series: Sequence[tuple[str, int, np.ndarray]]) -> str:
    threads = ",".join(f"{index}={name}@core{core}"
                       for index, (name, core, _) in enumerate(series))
    return f"lab.results.cyclictest run={run.run_id} unit={unit} histogram={size} threads={threads}"


def _sysinfo(run: RunInfo) -> dict[str, Any]:
    timing = (f"timing=icount shift={run.icount_shift}: virtual ns = 2^{run.icount_shift} x "
              "instructions" if run.timing == "icount" and run.icount_shift is not None
              else f"timing={run.timing}")
    return {"sysname": "OVM", "nodename": run.board, "release": run.commit,
            "version": f"{timing}; board_kind={run.board_kind}; source={run.source}",
            "machine": "armv7l", "realtime": 0}


def cyclictest_json(store: ResultStore, run_id: str, *, unit: str = "ns") -> dict[str, Any]:
    """The run's latency series as cyclictest's --json file holds them (``unit``: ns or us).

    ns by default (cyclictest's ``--nsecs``): the data resolve 10 ns ticks, and
    µs buckets would put the whole SRT distribution in one or two of them.
    """
    if unit not in UNITS_NS:
        raise ValueError(f"unit must be one of {sorted(UNITS_NS)}, not {unit!r}")
    run = store.run_info(run_id)
    series = latencies(store.samples(run_id))
    size = histogram_size(series, unit)
    stamp = rfc2822(run.started_ns)
    return {
        "file_version": FILE_VERSION,
        "cmdline:": _cmdline(run, unit, size, series),
        "rt_test_version:": f"{RT_TESTS_VERSION:1.2f}",
        "start_time": stamp,
        "end_time": stamp,
        "return_code": 0,
        "sysinfo": _sysinfo(run),
        "num_threads": len(series),
        "resolution_in_ns": 1 if unit == "ns" else 0,
        "thread": {str(index): thread_entry(values, core, unit)
                   for index, (_, core, values) in enumerate(series)},
    }


def write_cyclictest_json(store: ResultStore, run_id: str, out: Path, *,
                          unit: str = "ns") -> Path:
    """Write the file (two-space indent, as cyclictest's) to ``out``; its path."""
    document = cyclictest_json(store, run_id, unit=unit)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A stored run's latencies as cyclictest JSON.")
    parser.add_argument("run_id")
    parser.add_argument("out", type=Path)
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE)
    parser.add_argument("--usecs", action="store_true",
                        help="µs buckets (cyclictest's default) instead of ns (--nsecs)")
    args = parser.parse_args(argv)
    if not args.store.exists():
        parser.error(f"{args.store}: no store here (make lab writes one)")
    print(write_cyclictest_json(ResultStore(args.store), args.run_id, args.out,
                                unit="us" if args.usecs else "ns"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
