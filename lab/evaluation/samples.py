"""Every sample of an evaluation run as one table: what is stored, reported and summed up.

Rows follow the lab's result schema (``lab.results.schema``): a measurement
(``irq_latency``, ``irq_deferred``, ``context_switch``, ``io_cost``), the
tags that say where a sample came from (scenario, test, vm, level, core), its
sequence number and its value in ns (virtual ns under icount). Figures that
are one number per run (``deadline``, ``console``) are scalar rows.
``summary.json``, the local store, InfluxDB and the HTML report all read
these tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from lab.firmware.loader import load_board, load_scenario
from lab.results.catalogue import SERIES, Series
from lab.results.catalogue import series as series_named
from lab.results.schema import SAMPLE_COLUMNS, SCALAR_COLUMNS
from lab.results.statistics import Timebase

from .experiments import ExperimentResult
from .measures import CONSOLE_BOUND_ROUNDS, pair_switches

# Switches kept per direction (the SRT probe runs more jobs than this, see probe_srt).
SWITCH_SAMPLES = 1000
NATIVE_SCENARIO = "native-latency"
# The VMs of scenario io-proxy whose console figures are kept: (vm, level, core).
CONSOLE_VMS = (("quiet", "SRT", 1), ("chatty", "SRT", 0))
# The console figures kept as they are counted (the delay is converted to ns).
CONSOLE_COUNTS = ("jobs", "lines", "line_bytes", "refused_jobs", "throttled")


def _rows(series: Series, scenario: str, values_ns: np.ndarray) -> pd.DataFrame:
    count = len(values_ns)
    source = series.source
    return pd.DataFrame({
        "measurement": series.measurement, "key": series.key, "scenario": scenario,
        "test": source.experiment, "vm": source.vm, "level": series.level, "core": source.core,
        "seq": np.arange(count, dtype=np.int64),
        "value_ns": np.asarray(values_ns, dtype=np.float64),
    }, columns=SAMPLE_COLUMNS)


def _scenario(result: ExperimentResult) -> str:
    return result.experiment.scenario or NATIVE_SCENARIO


def sample_frame(
    results: Mapping[str, ExperimentResult],
    timebase: Timebase,
    linux_switch_ns: np.ndarray | None = None,
    linux_scenario: str = "linux",
) -> tuple[pd.DataFrame, int]:
    """All samples; and how many SRT jobs had no NRT gap around them (not switches)."""
    frames = []
    for series in SERIES:
        source = series.source
        # Derived series, and those of an experiment the board could not run (Linux's).
        if source.record is None or source.experiment not in results:
            continue
        result = results[source.experiment]
        frames.append(_rows(series, _scenario(result),
                            timebase.ns(result.samples(source.record, source.record_vm))))
    shared = results["shared"]
    switches = pair_switches(
        shared.samples("switch_in.SRT"), shared.samples("switch_out.SRT"),
        shared.samples("gap_begin.NRT"), shared.samples("gap_end.NRT"),
    )
    frames.append(_rows(series_named("context_switch", "ovm"), _scenario(shared),
                        timebase.ns(switches.yielding[:SWITCH_SAMPLES])))
    frames.append(_rows(series_named("context_switch", "ovm_preempt"), _scenario(shared),
                        timebase.ns(switches.preempting[:SWITCH_SAMPLES])))
    if linux_switch_ns is not None:
        frames.append(_rows(series_named("context_switch", "linux"), linux_scenario,
                            linux_switch_ns))
    return pd.concat(frames, ignore_index=True), switches.unpaired


def console_bound_ns(repo_root: Path, board: str, scenario: str) -> float:
    """What the scenario's console sharing promises a line within its VM's share, in ns."""
    config = load_scenario(repo_root / "ovm", scenario, load_board(repo_root / "ovm", board))
    return CONSOLE_BOUND_ROUNDS * config.console.round_us * 1000.0


def scalar_frame(results: Mapping[str, ExperimentResult], timebase: Timebase, *,
                 board: str, repo_root: Path) -> pd.DataFrame:
    """One row per figure: the deadline experiments' counts, and the console's sharing.

    ``deadline``: key the experiment, fields as counted by OVM for the SRT. ``console``:
    key the VM (the quiet and the chatty VM of io-proxy), fields its ``console`` V
    record's (delays in ns); the quiet VM's ``bound_ns`` is what the scenario's sharing promises it
    (``CONSOLE_BOUND_ROUNDS`` rounds of ``console.round_us``; ``board`` and ``repo_root``
    say where the scenario is read).
    """
    rows = _deadline_rows(results, timebase)
    io_proxy = results["io_proxy"]
    bound_ns = console_bound_ns(repo_root, board, _scenario(io_proxy))
    for vm, level, core in CONSOLE_VMS:
        counted = io_proxy.values("console", vm)
        figures: list[tuple[str, float | int]] = [
            (name, counted[name]) for name in CONSOLE_COUNTS if name in counted]
        figures.append(("max_delay_ns", _ns(timebase, counted["max_delay_ticks"])))
        if vm == "quiet":
            figures.append(("bound_ns", bound_ns))
        rows += [{"measurement": "console", "key": vm, "scenario": _scenario(io_proxy),
                  "test": io_proxy.experiment.name, "vm": vm, "level": level, "core": core,
                  "field": field, "value": value} for field, value in figures]
    return pd.DataFrame(rows, columns=SCALAR_COLUMNS)


def _deadline_rows(results: Mapping[str, ExperimentResult], timebase: Timebase) -> list[dict]:
    """The deadline experiments' counts (one row per figure), from the SRT's ``deadline`` record."""
    schedulable = results["schedulable"].values("deadline", "srt")
    overload = results["overload"].values("deadline", "srt")
    figures: list[tuple[str, str, float | int]] = [
        ("schedulable", "periods", schedulable["done"]),
        ("schedulable", "misses", schedulable["misses"]),
        ("schedulable", "handler_runs", schedulable["handler_runs"]),
        ("overload", "jobs", overload["done"]),
        ("overload", "misses", overload["misses"]),
        ("overload", "detected", overload["handler_runs"]),
        ("overload", "max_detect_ns", _ns(timebase, overload["max_detect_ticks"])),
    ]
    return [
        {"measurement": "deadline", "key": test, "scenario": _scenario(results[test]),
         "test": test, "vm": "srt", "level": "SRT", "core": 0, "field": field, "value": value}
        for test, field, value in figures
    ]


def _ns(timebase: Timebase, ticks: int) -> float:
    return float(timebase.ns(np.array([ticks]))[0])
