"""How the results pipeline copes with a large run: 1,000,000 samples into the local
store and into InfluxDB, and the report rendered from them.

Not a test (pytest collects test_*.py only): it prints figures and asserts
nothing, so a slow machine is a number to read, not a failure. Run with
``.venv/bin/python testcases/results/bench_results.py [samples]``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from lab.evaluation.summary import PAPER
from lab.results.cyclictest import cyclictest_json
from lab.results.influx import sync
from lab.results.report import render_run_report
from lab.results.schema import SAMPLE_COLUMNS, SCALAR_COLUMNS, RunInfo
from lab.results.store import ResultStore

SAMPLES = 1_000_000
# (measurement, key, vm, level, core, share of the samples, mean ticks, spread ticks)
SERIES = (
    ("irq_latency", "native", "native", "native", 0, 0.15, 20, 1),
    ("irq_latency", "HRT", "hrt", "HRT", 1, 0.15, 20, 1),
    ("irq_latency", "SRT", "srt", "SRT", 0, 0.15, 107, 3),
    ("irq_latency", "NRT", "nrt", "NRT", 0, 0.15, 111, 40),
    ("irq_deferred", "NRT", "nrt", "NRT", 0, 0.10, 17_000, 9_000),
    ("context_switch", "ovm", "srt>nrt", "SRT>NRT", 0, 0.10, 1_030, 60),
    ("context_switch", "ovm_preempt", "nrt>srt", "NRT>SRT", 0, 0.10, 1_090, 50),
    ("context_switch", "linux", "ctxsw", "linux", 0, 0.10, 7_400, 200),
)


def sample_frame(total: int, seed: int = 1) -> pd.DataFrame:
    """``total`` samples on a 10 ns tick, each series with a long right tail."""
    rng = np.random.default_rng(seed)
    frames = []
    for measurement, key, vm, level, core, share, mean, spread in SERIES:
        count = int(total * share)
        ticks = np.maximum(1, mean + np.abs(rng.standard_cauchy(count)).clip(0, 50) * spread)
        frames.append(pd.DataFrame({
            "measurement": measurement, "key": key, "scenario": "bench", "test": key, "vm": vm,
            "level": level, "core": core, "seq": np.arange(count),
            "value_ns": np.round(ticks) * 10.0}, columns=SAMPLE_COLUMNS))
    return pd.concat(frames, ignore_index=True)


def scalar_frame() -> pd.DataFrame:
    figures = [("schedulable", "periods", 10_000), ("schedulable", "misses", 0),
               ("overload", "jobs", 100), ("overload", "misses", 100),
               ("overload", "detected", 100), ("overload", "max_detect_ns", 1920.0)]
    return pd.DataFrame([{"measurement": "deadline", "key": test, "scenario": "bench",
                          "test": test, "vm": "srt", "level": "SRT", "core": 0, "field": field,
                          "value": float(value)} for test, field, value in figures],
                        columns=SCALAR_COLUMNS)


def timed(what: str, action):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - started
    print(f"{what}: {elapsed:.2f} s", flush=True)
    return result, elapsed


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    total = int(args[0]) if args else SAMPLES
    samples = sample_frame(total)
    run = RunInfo("bench-run", time.time_ns(), "qemu-vexpress-a9", "qemu", "icount", 4,
                  "bench", "benchmark")
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        store = ResultStore(Path(tmp) / "results.sqlite")
        _, add = timed(f"ResultStore.add_run, {len(samples):,} samples",
                       lambda: store.add_run(run, samples, scalar_frame(), {"paper": PAPER}))
        print(f"  -> {len(samples) / add:,.0f} samples/s into the local store "
              f"({(Path(tmp) / 'results.sqlite').stat().st_size / 2**20:.1f} MiB)")
        _, read = timed("ResultStore.samples (read back)", lambda: store.samples(run.run_id))
        print(f"  -> {len(samples) / read:,.0f} samples/s out of the local store")
        path, _ = timed("render_run_report (read, stats, 6 plots, write)",
                        lambda: render_run_report(store, run.run_id, Path(tmp) / "report.html"))
        print(f"  -> {path.stat().st_size / 1024:.0f} KiB of HTML")
        timed("cyclictest_json (ns buckets)", lambda: cyclictest_json(store, run.run_id))
        influx_ingest(store, run, len(samples), Path(tmp))
    return 0


def influx_ingest(store: ResultStore, run: RunInfo, count: int, tmp: Path) -> None:
    """Samples per second into a throw-away influxd (Debian's), if one is installed."""
    if shutil.which("influxd") is None:
        print("InfluxDB ingest: skipped (no influxd installed)")
        return
    from conftest import InfluxServer  # the tests' own server, on free loopback ports

    (tmp / "influxd").mkdir()
    server = InfluxServer(tmp / "influxd")
    server.start()
    try:
        result, elapsed = timed(
            f"InfluxDB ingest via sync ({server.url}, batches of 5000 lines)",
            lambda: sync(store, server.config("bench"), progress=lambda _line: None))
        if not result.ok:
            print(f"  -> failed: {result.error}")
            return
        print(f"  -> {count / elapsed:,.0f} samples/s into InfluxDB "
              f"({result.points:,} points with histograms and deadlines)")
    finally:
        server.stop()


if __name__ == "__main__":
    raise SystemExit(main())
