"""The per-run HTML report and the cyclictest JSON, from a store built here.

Synthetic runs with known samples: the numbers the report shows (read back
from its ``data-`` attributes with the standard library's HTML parser;
``pandas.read_html`` needs lxml or html5lib, which the lab does not install)
must be those numpy computes from the same samples.
"""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lab.evaluation.summary import PAPER
from lab.results.cyclictest import cyclictest_json, write_cyclictest_json
from lab.results.report import NOT_MEASURED, constant_range, fmt_time, render_run_report
from lab.results.schema import SAMPLE_COLUMNS, SCALAR_COLUMNS, RunInfo
from lab.results.store import ResultStore, StoreError

SHIFT = 4
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STARTED_NS = 1_795_000_000_000_000_000
FULL = RunInfo("20261127T000000-full", STARTED_NS, "qemu-vexpress-a9", "qemu", "icount", SHIFT,
               "abc123def456", "pytest")
# A board run: real time, no HRT level, no Linux baseline, no deadline experiments.
PARTIAL = RunInfo("20261127T010000-partial", STARTED_NS + 3_600 * 10**9, "zc702", "zc702",
                  "real", None, "abc123def456", "pytest")
LATENCY = ["irq_latency/native", "irq_latency/HRT", "irq_latency/HRT_user", "irq_latency/SRT",
           "irq_latency/NRT", "irq_deferred/NRT"]
SWITCHES = ["context_switch/ovm", "context_switch/ovm_preempt", "context_switch/linux"]
IO = ["io_cost/passthrough", "io_cost/ovm_proxy", "io_cost/host_proxy"]
STATS = ("min", "p50", "p99", "p99.9", "max", "mean", "stdev")


def _series(measurement: str, key: str, vm: str, level: str, core: int,
            values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({
        "measurement": measurement, "key": key, "scenario": "synthetic", "test": key, "vm": vm,
        "level": level, "core": core, "seq": np.arange(len(values)),
        "value_ns": np.asarray(values, dtype=np.float64)}, columns=SAMPLE_COLUMNS)


def synthetic_values(seed: int = 7) -> dict[str, np.ndarray]:
    """Known distributions on a 10 ns tick; the SRT's worst is 1,080 ns (67.5 instructions)."""
    rng = np.random.default_rng(seed)
    tail = rng.choice([2230, 6950, 8330, 22240], size=60)
    return {
        "irq_latency/native": np.full(1000, 200.0),
        "irq_latency/HRT": np.where(rng.random(1000) < 0.01, 210.0, 200.0),
        "irq_latency/HRT_user": np.full(1000, 960.0),
        "irq_latency/SRT": np.append(rng.integers(107, 108, 999, endpoint=True) * 10.0, 1080.0),
        "irq_latency/NRT": np.concatenate([np.full(940, 1110.0), tail]),
        "irq_deferred/NRT": rng.integers(3139, 32508, 445, endpoint=True) * 10.0,
        "context_switch/ovm": rng.integers(1009, 1100, 1000) * 10.0,
        "context_switch/ovm_preempt": rng.integers(1069, 1200, 1000) * 10.0,
        # Not on the tick: lat_ctx-style means of 32 switches.
        "context_switch/linux": rng.normal(74_000.0, 2_000.0, 1000).round(3),
        # One device access per I/O path: 14 or 15 ticks direct, hundreds through OVM,
        # thousands through the host.
        "io_cost/passthrough": rng.choice([140.0, 150.0], size=100),
        "io_cost/ovm_proxy": np.append(np.full(90, 8720.0), rng.integers(4382, 5151, 10) * 10.0),
        "io_cost/host_proxy": rng.integers(11740, 86947, 100) * 10.0,
    }


WHERE = {  # series -> (vm, level, core)
    "irq_latency/native": ("native", "native", 0), "irq_latency/HRT": ("hrt", "HRT", 1),
    "irq_latency/HRT_user": ("hrt", "HRT_user", 1),
    "irq_latency/SRT": ("srt", "SRT", 0), "irq_latency/NRT": ("nrt", "NRT", 0),
    "irq_deferred/NRT": ("nrt", "NRT", 0), "context_switch/ovm": ("srt>nrt", "SRT>NRT", 0),
    "context_switch/ovm_preempt": ("nrt>srt", "NRT>SRT", 0),
    "context_switch/linux": ("ctxsw", "linux", 0),
    "io_cost/passthrough": ("hrt", "HRT", 1), "io_cost/ovm_proxy": ("quiet", "SRT", 1),
    "io_cost/host_proxy": ("nrt", "NRT", 1),
}

DEADLINE = {("schedulable", "periods"): 10_000, ("schedulable", "misses"): 0,
            ("schedulable", "handler_runs"): 0, ("overload", "jobs"): 100,
            ("overload", "misses"): 100, ("overload", "detected"): 100,
            ("overload", "max_detect_ns"): 1920.0}
# The console's sharing (scalars of measurement console, key the VM).
CONSOLE = {("quiet", "lines"): 100, ("quiet", "line_bytes"): 10,
           ("quiet", "max_delay_ns"): 10_006_400.0, ("quiet", "bound_ns"): 20_000_000.0,
           ("quiet", "throttled"): 0, ("chatty", "jobs"): 400, ("chatty", "lines"): 39,
           ("chatty", "line_bytes"): 100, ("chatty", "refused_jobs"): 281,
           ("chatty", "throttled"): 281, ("chatty", "max_delay_ns"): 47_475_350.0}


def sample_frame(values: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.concat([_series(*name.split("/"), *WHERE[name], data)
                      for name, data in values.items()], ignore_index=True)


def scalar_frame(figures: dict[tuple[str, str], float],
                 console: dict[tuple[str, str], float] | None = None) -> pd.DataFrame:
    return pd.DataFrame([
        {"measurement": "deadline", "key": test, "scenario": "synthetic", "test": test,
         "vm": "srt", "level": "SRT", "core": 0, "field": field, "value": float(value)}
        for (test, field), value in figures.items()] + [
        {"measurement": "console", "key": vm, "scenario": "io-proxy", "test": "io_proxy",
         "vm": vm, "level": "SRT", "core": 1 if vm == "quiet" else 0, "field": field,
         "value": float(value)}
        for (vm, field), value in (console or {}).items()], columns=SCALAR_COLUMNS)


@pytest.fixture(scope="module")
def data() -> dict[str, dict[str, np.ndarray]]:
    full = synthetic_values()
    partial = {name: values for name, values in synthetic_values(seed=8).items()
               if name not in ("irq_latency/HRT", "context_switch/linux")}
    return {FULL.run_id: full, PARTIAL.run_id: partial}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory,
          data: dict[str, dict[str, np.ndarray]]) -> ResultStore:
    store = ResultStore(tmp_path_factory.mktemp("store") / "results.sqlite")
    store.add_run(FULL, sample_frame(data[FULL.run_id]), scalar_frame(DEADLINE, CONSOLE),
                  {"commit": FULL.commit, "paper": PAPER,
                   "method": {"context_switch_linux": "lat_ctx style, synthetic"}})
    store.add_run(PARTIAL, sample_frame(data[PARTIAL.run_id]), scalar_frame({}),
                  {"commit": PARTIAL.commit})
    return store


class ReportReader(HTMLParser):
    """The report's exact numbers (``data-value``) by (table id, row, stat, unit); its images."""

    def __init__(self) -> None:
        super().__init__()
        self.table: str | None = None
        self.row: str | None = None
        self.values: dict[tuple[str | None, str | None, str, str], float] = {}
        self.images: list[dict[str, str | None]] = []
        self.tables: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table":
            self.table = found.get("id")
            self.tables.add(str(self.table))
        elif tag == "tr":
            self.row = (found.get("data-series") or found.get("data-row")
                        or (f"{found['data-experiment']}/{found['data-field']}"
                            if "data-experiment" in found else None))
        elif tag == "td" and "data-value" in found:
            key = (self.table, self.row, str(found["data-stat"]), str(found["data-unit"]))
            self.values[key] = float(str(found["data-value"]))
        elif tag == "img":
            self.images.append(found)

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.table = None


@pytest.fixture(scope="module")
def reports(store: ResultStore, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("reports")
    return {run.run_id: render_run_report(store, run.run_id, out / f"{run.run_id}.html")
            .read_text(encoding="utf-8") for run in (FULL, PARTIAL)}


def read(page: str) -> ReportReader:
    reader = ReportReader()
    reader.feed(page)
    return reader


def expected(values: np.ndarray) -> dict[str, float]:
    p50, p99, p999 = np.percentile(values, [50, 99, 99.9])
    return {"min": values.min(), "p50": p50, "p99": p99, "p99.9": p999, "max": values.max(),
            "mean": values.mean(), "stdev": values.std(ddof=1)}


def test_pandas_read_html_needs_a_parser_we_do_not_install() -> None:
    # Why the tests parse with html.parser: pandas.read_html wants lxml (or bs4 + html5lib).
    import io
    try:
        pd.read_html(io.StringIO("<table><tr><td>1</td></tr></table>"))
    except ImportError:
        return
    pytest.skip("an HTML parser for pandas is installed after all")


def test_report_is_one_self_contained_file(reports: dict[str, str]) -> None:
    page = reports[FULL.run_id]
    assert page.startswith("<!DOCTYPE html>")
    assert "<style>" in page
    assert not re.search(r'(src|href)="(?!data:)', page), "an external resource"
    assert "<script" not in page and "<link" not in page


def test_header_says_where_the_results_came_from(reports: dict[str, str]) -> None:
    page = reports[FULL.run_id]
    for text in ("qemu-vexpress-a9", ">qemu<", ">icount<", ">4<", FULL.commit, FULL.run_id,
                 pd.Timestamp(STARTED_NS, unit="ns", tz="UTC").strftime("%Y-%m-%d %H:%M:%S"),
                 "2^4 x instructions", "not ns on silicon"):
        assert text in page, text
    board = reports[PARTIAL.run_id]
    assert ">zc702<" in board and ">real<" in board and "not ns on silicon" not in board


def test_one_png_per_plotted_series(reports: dict[str, str]) -> None:
    images = read(reports[FULL.run_id]).images
    assert [image["data-plot"] for image in images] == [*LATENCY, "context_switch"]
    assert reports[FULL.run_id].count("data:image/png;base64,") == len(LATENCY) + 1
    encoded = str(images[2]["src"]).removeprefix("data:image/png;base64,")
    assert base64.b64decode(encoded, validate=True).startswith(PNG_MAGIC)
    # The board run has no HRT: one latency plot fewer, the switch plot still (OVM only).
    partial = read(reports[PARTIAL.run_id]).images
    assert [image["data-plot"] for image in partial] == [
        name for name in LATENCY if name != "irq_latency/HRT"] + ["context_switch"]


def test_headline_is_the_worst_case(reports: dict[str, str],
                                    data: dict[str, dict[str, np.ndarray]]) -> None:
    page = reports[FULL.run_id]
    assert "SRT: worst 1,080 ns (67.5 instructions)" in page
    worst_nrt = data[FULL.run_id]["irq_latency/NRT"].max()
    assert f"NRT: worst {worst_nrt:,.0f} ns ({worst_nrt / 2**SHIFT:,.1f} instructions)" in page
    worst_board = data[PARTIAL.run_id]["irq_latency/SRT"].max()
    assert f"SRT: worst {worst_board:,.0f} ns</h3>" in reports[PARTIAL.run_id]


@pytest.mark.parametrize("run", [FULL, PARTIAL], ids=["icount", "real"])
def test_percentiles_match_the_samples(run: RunInfo, reports: dict[str, str],
                                       data: dict[str, dict[str, np.ndarray]]) -> None:
    reader = read(reports[run.run_id])
    assert "percentiles" in reader.tables
    for name, values in data[run.run_id].items():
        assert reader.values[("percentiles", name, "n", "samples")] == values.size
        for stat, value in expected(values).items():
            assert reader.values[("percentiles", name, stat, "ns")] == pytest.approx(
                value, rel=1e-12, abs=1e-9), (name, stat)
            if run.icount_shift is not None:
                assert reader.values[("percentiles", name, stat, "instructions")] == \
                    pytest.approx(value / 2**SHIFT, rel=1e-12, abs=1e-9), (name, stat)
            else:
                assert ("percentiles", name, stat, "instructions") not in reader.values


def test_deadline_table(reports: dict[str, str]) -> None:
    reader = read(reports[FULL.run_id])
    for (test, field), value in DEADLINE.items():
        unit = "ns" if field.endswith("_ns") else "count"
        assert reader.values[("deadlines", f"{test}/{field}", field, unit)] == value
    assert "100 of 100 misses detected" in reports[FULL.run_id]
    page = reports[PARTIAL.run_id]
    assert "deadlines" not in read(page).tables
    assert f"Deadline experiments: {NOT_MEASURED}" in page


def test_context_switch_table(reports: dict[str, str],
                              data: dict[str, dict[str, np.ndarray]]) -> None:
    reader = read(reports[FULL.run_id])
    values = data[FULL.run_id]
    for name in SWITCHES:
        figures = expected(values[name])
        for stat in ("min", "mean", "p50", "p99", "max"):
            assert reader.values[("context-switch", name, stat, "ns")] == pytest.approx(
                figures[stat], rel=1e-12), (name, stat)
    linux = values["context_switch/linux"].mean()
    for key in ("ovm", "ovm_preempt"):
        assert reader.values[("context-switch", f"ratio/{key}", "ratio", "ratio")] == \
            pytest.approx(values[f"context_switch/{key}"].mean() / linux, rel=1e-12)


def test_io_paths_table(reports: dict[str, str],
                        data: dict[str, dict[str, np.ndarray]]) -> None:
    reader = read(reports[FULL.run_id])
    assert {"io-cost", "console-sharing"} <= reader.tables
    for name in IO:
        figures = expected(data[FULL.run_id][name])
        for stat in ("min", "mean", "p50", "p99", "max"):
            assert reader.values[("io-cost", name, stat, "ns")] == pytest.approx(
                figures[stat], rel=1e-12), (name, stat)
            assert reader.values[("io-cost", name, stat, "instructions")] == pytest.approx(
                figures[stat] / 2**SHIFT, rel=1e-12), (name, stat)
        # Not in the paper: its column says so, ours has the figures.
        assert ("paper-figures", name, "min", "paper") not in reader.values
        assert reader.values[("paper-figures", name, "max", "ns")] == figures["max"]
    page = reports[FULL.run_id]
    assert page.index('data-series="io_cost/passthrough"') < page.index(
        'data-series="io_cost/ovm_proxy"') < page.index('data-series="io_cost/host_proxy"')


def test_console_sharing_table(reports: dict[str, str]) -> None:
    reader = read(reports[FULL.run_id])
    for (vm, field), value in CONSOLE.items():
        unit = "ns" if field.endswith("_ns") else "count"
        assert reader.values[("console-sharing", f"console/{vm}/{field}", field, unit)] == value
    page = reports[FULL.run_id]
    # Large times read in ms; the exact ns stay in data-value (checked above).
    assert "quiet: worst line wait 10.006 ms, within the bound of 20 ms" in page
    assert "chatty: 281 writes refused" in page
    board = reports[PARTIAL.run_id]
    assert "console-sharing" not in read(board).tables
    assert f"Console sharing: {NOT_MEASURED}" in board


def test_run_without_linux_says_not_measured(reports: dict[str, str]) -> None:
    page = reports[PARTIAL.run_id]
    reader = read(page)
    assert ("context-switch", "context_switch/ovm", "mean", "ns") in reader.values
    assert not any(row in ("context_switch/linux", "ratio/ovm") for _, row, _, _ in reader.values)
    row = re.search(r'<tr data-series="context_switch/linux"[^>]*>.*?</tr>', page)
    assert row and NOT_MEASURED in row.group(0)
    assert re.search(r'<p class="missing" data-series="irq_latency/HRT">[^<]*' + NOT_MEASURED,
                     page)
    assert "not in this run's summary" in page  # no paper figures stored with this run


def test_paper_beside_ours(reports: dict[str, str],
                           data: dict[str, dict[str, np.ndarray]]) -> None:
    reader = read(reports[FULL.run_id])
    page = reports[FULL.run_id]
    assert PAPER["origin"] in page and PAPER["unit"] in page
    srt = data[FULL.run_id]["irq_latency/SRT"]
    for stat in ("min", "mean", "max"):
        theirs = PAPER["irq_latency_ns"]["SRT/NRT"][stat]
        assert reader.values[("paper-figures", "irq_latency/SRT", stat, "paper")] == theirs
        assert reader.values[("paper-figures", "context_switch/linux", stat, "paper")] == \
            PAPER["context_switch_ns"]["linux"][stat]
    assert reader.values[("paper-figures", "irq_latency/SRT", "max", "ns")] == srt.max()
    assert reader.values[("paper-figures", "irq_latency/SRT", "mean", "instructions")] == \
        pytest.approx(srt.mean() / 2**SHIFT, rel=1e-12)


def test_unknown_run_is_the_stores_error(store: ResultStore, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no run nope"):
        render_run_report(store, "nope", tmp_path / "nope.html")
    assert not (tmp_path / "nope.html").exists()
    with pytest.raises(StoreError, match="no run nope"):
        cyclictest_json(store, "nope")


def test_progress_line_per_plot(store: ResultStore, tmp_path: Path) -> None:
    lines: list[str] = []
    path = render_run_report(store, PARTIAL.run_id, tmp_path, progress=lines.append)
    assert path == tmp_path / f"report-{PARTIAL.run_id}.html" and path.exists()
    started = [line for line in lines if "plotting" in line]
    assert len(started) == 6  # native, HRT user, SRT, NRT, NRT deferred, switches
    assert "irq_latency/HRT_user" in started[1] and "irq_latency/SRT" in started[2]


def test_large_times_read_in_us_or_ms() -> None:
    assert fmt_time(1_080.0) == "1,080 ns" and fmt_time(99_990.0) == "99,990 ns"
    assert fmt_time(869_470.0) == "869.47 µs" and fmt_time(10_006_180.0) == "10.006 ms"
    assert fmt_time(20_000_000.0) == "20 ms"


def test_each_statistics_row_has_its_unit(reports: dict[str, str]) -> None:
    page = reports[FULL.run_id]
    units = dict(re.findall(r'<tr data-series="([^"]+)"><th>[^<]*</th><td [^>]*>[^<]*</td>'
                            r'<td class="unit" data-shown-unit="([^"]+)"', page))
    assert units["irq_latency/SRT"] == "ns" and units["io_cost/host_proxy"] == "µs"
    # The host proxy's worst in µs on the page; in ns, exactly, in its data-value.
    worst = float(synthetic_values()["io_cost/host_proxy"].max())
    shown = f"{worst / 1000:,.3f}".rstrip("0").rstrip(".")
    assert f'data-stat="max" data-unit="ns" data-value="{worst!r}">{shown}</td>' in page


def test_a_constant_distribution_gets_a_readable_range() -> None:
    # native: every sample 200 ns; a stem in 190..210, whole-ns ticks, not one wide bin.
    assert constant_range(200.0) == (190.0, 210.0)
    assert constant_range(22_240.0) == (21_120.0, 23_360.0)


# --- cyclictest JSON -----------------------------------------------------------------------

TOP_LEVEL = ["file_version", "cmdline:", "rt_test_version:", "start_time", "end_time",
             "return_code", "sysinfo", "num_threads", "resolution_in_ns", "thread"]
THREAD_KEYS = ["histogram", "cycles", "min", "max", "avg", "cpu", "node"]


def test_cyclictest_layout(store: ResultStore) -> None:
    document = cyclictest_json(store, FULL.run_id)
    assert list(document) == TOP_LEVEL
    assert document["file_version"] == 1 and document["return_code"] == 0
    assert re.fullmatch(r"\d\.\d\d", document["rt_test_version:"])
    assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}",
                        document["start_time"])
    assert list(document["sysinfo"]) == ["sysname", "nodename", "release", "version",
                                         "machine", "realtime"]
    assert document["resolution_in_ns"] == 1
    assert document["num_threads"] == len(document["thread"]) == len(LATENCY)
    assert list(document["thread"]) == [str(i) for i in range(len(LATENCY))]
    for entry in document["thread"].values():
        assert list(entry) == THREAD_KEYS
    # Which thread is which series: in the command line, in thread order.
    assert "threads=" + ",".join(
        f"{i}={name}@core{WHERE[name][2]}" for i, name in enumerate(LATENCY)) \
        in document["cmdline:"]


@pytest.mark.parametrize("unit,per_bucket", [("ns", 1.0), ("us", 1000.0)])
def test_cyclictest_histograms_and_figures(store: ResultStore, unit: str, per_bucket: float,
                                           data: dict[str, dict[str, np.ndarray]]) -> None:
    for run in (FULL, PARTIAL):
        document = cyclictest_json(store, run.run_id, unit=unit)
        assert document["resolution_in_ns"] == (1 if unit == "ns" else 0)
        names = [name for name in LATENCY if name in data[run.run_id]]
        assert document["num_threads"] == len(names)
        for index, name in enumerate(names):
            entry = document["thread"][str(index)]
            whole = np.floor(data[run.run_id][name] / per_bucket).astype(int)
            assert sum(entry["histogram"].values()) == entry["cycles"] == whole.size
            buckets = [int(bucket) for bucket in entry["histogram"]]
            assert buckets == sorted(buckets) and 0 not in entry["histogram"].values()
            counts = dict(zip(*np.unique(whole, return_counts=True)))
            assert {int(b): c for b, c in entry["histogram"].items()} == counts
            assert (entry["min"], entry["max"]) == (whole.min(), whole.max())
            assert entry["avg"] == round(whole.mean(), 2)
            assert entry["cpu"] == WHERE[name][2] and entry["node"] == -1


def test_cyclictest_file(store: ResultStore, tmp_path: Path) -> None:
    path = write_cyclictest_json(store, FULL.run_id, tmp_path / "out" / "cyclictest.json")
    text = path.read_text()
    assert text.startswith('{\n  "file_version": 1,\n  "cmdline:": ')
    loaded: dict[str, Any] = json.loads(text)
    assert loaded == cyclictest_json(store, FULL.run_id)
