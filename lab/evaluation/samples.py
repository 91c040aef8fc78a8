"""Every sample of an evaluation run as one table: what is stored, reported and summed up.

Rows follow the lab's result schema (``lab.results.schema``): a measurement
(``irq_latency``, ``irq_deferred``, ``context_switch``), the tags that say
where a sample came from (scenario, test, vm, level, core), its sequence
number and its value in ns (virtual ns under icount). ``summary.json``, the
local store, InfluxDB and the HTML report all read this one table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lab.results.schema import SAMPLE_COLUMNS, SCALAR_COLUMNS

from .experiments import ExperimentResult
from .measures import Timebase, pair_switches

# Switches kept per direction (the SRT probe runs more jobs than this, see probe_srt).
SWITCH_SAMPLES = 1000
NATIVE_SCENARIO = "native-latency"
# Context switches: the summary's key -> the level tag of its samples.
SWITCH_LEVELS = {"ovm": "SRT>NRT", "ovm_preempt": "NRT>SRT", "linux": "linux"}


@dataclass(frozen=True)
class Source:
    """Where one summary figure's samples come from."""

    measurement: str
    key: str  # its name in summary.json: irq_latency_ns.<key>, context_switch_ns.<key>
    experiment: str
    series: str  # the probe's record series
    vm: str
    level: str
    core: int


LATENCY_SOURCES = (
    Source("irq_latency", "native", "native", "irq_latency.direct", "native", "native", 0),
    Source("irq_latency", "HRT", "hrt", "irq_latency.direct", "hrt", "HRT", 1),
    Source("irq_latency", "SRT", "shared", "irq_latency.SRT", "srt", "SRT", 0),
    Source("irq_latency", "NRT", "shared", "irq_latency.NRT", "nrt", "NRT", 0),
    Source("irq_deferred", "NRT", "shared", "irq_deferred.NRT", "nrt", "NRT", 0),
)


def _rows(measurement: str, key: str, scenario: str, test: str, vm: str, level: str, core: int,
          values_ns: np.ndarray) -> pd.DataFrame:
    count = len(values_ns)
    return pd.DataFrame({
        "measurement": measurement, "key": key, "scenario": scenario, "test": test, "vm": vm,
        "level": level, "core": core, "seq": np.arange(count, dtype=np.int64),
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
    for source in LATENCY_SOURCES:
        result = results[source.experiment]
        frames.append(_rows(source.measurement, source.key, _scenario(result), source.experiment,
                            source.vm, source.level, source.core,
                            timebase.ns(result.samples(source.series))))
    shared = results["shared"]
    switches = pair_switches(
        shared.samples("switch_in.SRT"), shared.samples("switch_out.SRT"),
        shared.samples("gap_begin.NRT"), shared.samples("gap_end.NRT"),
    )
    frames.append(_rows("context_switch", "ovm", _scenario(shared), "shared", "srt>nrt",
                        SWITCH_LEVELS["ovm"], 0, timebase.ns(switches.yielding[:SWITCH_SAMPLES])))
    frames.append(_rows("context_switch", "ovm_preempt", _scenario(shared), "shared", "nrt>srt",
                        SWITCH_LEVELS["ovm_preempt"], 0,
                        timebase.ns(switches.preempting[:SWITCH_SAMPLES])))
    if linux_switch_ns is not None:
        frames.append(_rows("context_switch", "linux", linux_scenario, "linux", "ctxsw",
                            SWITCH_LEVELS["linux"], 0, linux_switch_ns))
    return pd.concat(frames, ignore_index=True), switches.unpaired


def scalar_frame(results: Mapping[str, ExperimentResult], timebase: Timebase) -> pd.DataFrame:
    """The deadline experiments' counts (one row per figure)."""
    schedulable = results["schedulable"].lines["srt"]
    overload = results["overload"].lines["srt"]
    figures = [
        ("schedulable", "periods", int(schedulable["done"])),
        ("schedulable", "misses", int(schedulable["misses"])),
        ("schedulable", "handler_runs", int(schedulable["runs"])),
        ("overload", "jobs", int(overload["done"])),
        ("overload", "misses", int(overload["misses"])),
        ("overload", "detected", int(overload["runs"])),
        ("overload", "max_detect_ns",
         float(timebase.ns(np.array([int(overload["delay_ticks"])]))[0])),
    ]
    return pd.DataFrame([
        {"measurement": "deadline", "key": test, "scenario": _scenario(results[test]),
         "test": test, "vm": "srt", "level": "SRT", "core": 0, "field": field, "value": value}
        for test, field, value in figures
    ], columns=SCALAR_COLUMNS)
