"""InfluxDB for the results pipeline, against a real server (Debian's influxd 1.6.7).

What runs here: write and read back through the v1 API, the down-server case
(a run half written when the server dies, a run made while it is down, both
backfilled exactly once after it comes back), configuration loading, and
detection of the write API.

Not exercised: the v2 write path (``influxdb-client`` against 1.8+, 2.x or
3.x). No such server can be installed on these machines, and a mocked server
would only test the mock; the path is small and uses the package as its
documentation says.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lab.results import influx
from lab.results.influx import (
    InfluxClient,
    InfluxConfig,
    InfluxConfigError,
    InfluxQueryError,
    InfluxUnavailable,
    ServerInfo,
    sync,
)
from lab.results.schema import (
    BUCKET_BOUNDS_NS,
    SAMPLE_COLUMNS,
    SCALAR_COLUMNS,
    RunInfo,
    RunPoints,
    bucket_counts,
)
from lab.results.store import ResultStore

REPO_ROOT = Path(__file__).resolve().parents[2]
START_NS = 1_790_000_000_000_000_000  # a fixed instant: runs are an hour apart from here

# (measurement, key, scenario, test, vm, level, core, samples)
GROUPS = [
    ("irq_latency", "native", "native-latency", "native", "native", "native", 0, 300),
    ("irq_latency", "HRT", "eval-hrt", "hrt", "hrt", "HRT", 1, 300),
    ("irq_latency", "HRT_user", "eval-hrt-user", "hrt_user", "hrt", "HRT_user", 1, 300),
    ("irq_latency", "SRT", "eval-shared", "shared", "srt", "SRT", 0, 300),
    ("irq_latency", "NRT", "eval-shared", "shared", "nrt", "NRT", 0, 300),
    ("irq_deferred", "NRT", "eval-shared", "shared", "nrt", "NRT", 0, 45),
    ("context_switch", "ovm", "eval-shared", "shared", "srt>nrt", "SRT>NRT", 0, 100),
    ("context_switch", "ovm_preempt", "eval-shared", "shared", "nrt>srt", "NRT>SRT", 0, 100),
    ("context_switch", "linux", "linux", "linux", "ctxsw", "linux", 0, 100),
    ("io_cost", "passthrough", "io-passthrough", "io_passthrough", "hrt", "HRT", 1, 100),
    ("io_cost", "ovm_proxy", "io-proxy", "io_proxy", "quiet", "SRT", 1, 100),
    ("io_cost", "host_proxy", "io-proxy", "io_proxy", "nrt", "NRT", 1, 100),
    ("io_cost", "host_proxy_linux", "linux-proxy", "io_proxy_linux", "nrt", "NRT>Linux", 1, 100),
]


def test_each_level_tag_names_one_series_of_its_measurement():
    """InfluxDB's points tell series apart by measurement and level tag alone."""
    from lab.results.catalogue import SERIES

    tags = [(series.measurement, series.level) for series in SERIES]
    assert len(tags) == len(set(tags))


def make_run(number: int, *, source: str = "pytest") -> tuple[RunInfo, pd.DataFrame, pd.DataFrame]:
    """A synthetic run shaped like ``make lab``'s: every measurement, deadline and console scalars.

    Values are multiples of 16 ns (one instruction at icount shift 4), different
    per run and group, so a value read back can only have come from its sample.
    """
    started = START_NS + number * 3_600_000_000_000
    info = RunInfo(run_id=RunInfo.new_id(started, f"c0ffee{number}"), started_ns=started,
                   board="qemu-vexpress-a9", board_kind="qemu", timing="icount",
                   icount_shift=4, commit=f"c0ffee{number}", source=source)
    rng = np.random.default_rng(number)
    rows = []
    for index, (measurement, key, scenario, test, vm, level, core, count) in enumerate(GROUPS):
        values = 16.0 * rng.integers(5 + 10 * index, 60 + 400 * index, size=count)
        rows += [(measurement, key, scenario, test, vm, level, core, seq, float(value))
                 for seq, value in enumerate(values)]
    samples = pd.DataFrame(rows, columns=SAMPLE_COLUMNS)
    scalars = pd.DataFrame([
        ("deadline", "schedulable", "paper-eval", "schedulable", "srt", "SRT", 0, "periods", 10000.0),
        ("deadline", "schedulable", "paper-eval", "schedulable", "srt", "SRT", 0, "misses", 0.0),
        ("deadline", "schedulable", "paper-eval", "schedulable", "srt", "SRT", 0, "handler_runs", 0.0),
        ("deadline", "overload", "srt-overload", "overload", "srt", "SRT", 0, "jobs", 100.0),
        ("deadline", "overload", "srt-overload", "overload", "srt", "SRT", 0, "misses", 90.0 + number),
        ("deadline", "overload", "srt-overload", "overload", "srt", "SRT", 0, "detected", 90.0 + number),
        ("deadline", "overload", "srt-overload", "overload", "srt", "SRT", 0, "max_detect_ns", 1920.0),
        ("console", "quiet", "io-proxy", "io_proxy", "quiet", "SRT", 1, "lines", 100.0),
        ("console", "quiet", "io-proxy", "io_proxy", "quiet", "SRT", 1, "line_bytes", 10.0),
        ("console", "quiet", "io-proxy", "io_proxy", "quiet", "SRT", 1, "max_delay_ns",
         10_006_400.0 + 160 * number),
        ("console", "quiet", "io-proxy", "io_proxy", "quiet", "SRT", 1, "bound_ns", 20_000_000.0),
        ("console", "quiet", "io-proxy", "io_proxy", "quiet", "SRT", 1, "throttled", 0.0),
        ("console", "chatty", "io-proxy", "io_proxy", "chatty", "SRT", 0, "jobs", 400.0),
        ("console", "chatty", "io-proxy", "io_proxy", "chatty", "SRT", 0, "lines", 39.0),
        ("console", "chatty", "io-proxy", "io_proxy", "chatty", "SRT", 0, "line_bytes", 100.0),
        ("console", "chatty", "io-proxy", "io_proxy", "chatty", "SRT", 0, "refused_jobs", 281.0),
        ("console", "chatty", "io-proxy", "io_proxy", "chatty", "SRT", 0, "throttled",
         281.0 + number),
        ("console", "chatty", "io-proxy", "io_proxy", "chatty", "SRT", 0, "max_delay_ns",
         47_475_350.0),
    ], columns=SCALAR_COLUMNS)
    return info, samples, scalars


def add_run(store: ResultStore, number: int) -> RunInfo:
    info, samples, scalars = make_run(number)
    store.add_run(info, samples, scalars, {"synthetic": True})
    return info


def points_per_measurement(store: ResultStore, run_id: str) -> Counter[str]:
    points = RunPoints.of(store.run_info(run_id), store.samples(run_id), store.scalars(run_id))
    return Counter(point.measurement for point in points.points)


def counts_in_influx(client: InfluxClient, run_id: str) -> Counter[str]:
    """Points per measurement of one run, counted by a field every point has (run_id)."""
    counts: Counter[str] = Counter()
    for measurement in client.query("SHOW MEASUREMENTS")["name"]:
        frame = client.query(f'SELECT count("run_id") FROM "{measurement}" '
                             f"WHERE run_id = '{run_id}'")
        if not frame.empty:
            counts[measurement] = int(frame["count"].iloc[0])
    return counts


def quiet(_: str) -> None:
    pass


# --------------------------------------------------------------------------- round trip


@pytest.mark.influxdb
def test_round_trip_through_influxd(influxd: Any, tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "results.sqlite")
    info = add_run(store, 1)
    config = influxd.config(batch_size=500)
    lines: list[str] = []

    result = sync(store, config, progress=lines.append, batches_per_report=2)

    assert result.ok, result.error
    assert result.synced == [info.run_id]
    assert store.unsynced(config.destination) == []
    assert result.points == sum(points_per_measurement(store, info.run_id).values())
    assert lines[0].startswith(f"[influx] {influxd.url}: InfluxDB 1.6")
    assert any(f"run {info.run_id} synced" in line for line in lines)
    assert any(line.startswith(f"[influx]   {info.run_id}: batch 2/") for line in lines), lines

    samples, scalars = store.samples(info.run_id), store.scalars(info.run_id)
    with InfluxClient(config) as client:
        # Every sample, per level: count and worst case.
        frame = client.query("SELECT count(value_ns), max(value_ns) FROM irq_latency "
                             f"WHERE run_id = '{info.run_id}' GROUP BY level")
        got = frame.set_index("level")[["count", "max"]].sort_index()
        latency = samples[samples["measurement"] == "irq_latency"]
        expected = latency.groupby("level")["value_ns"].agg(["count", "max"]).sort_index()
        assert got.to_dict() == expected.to_dict()
        assert counts_in_influx(client, info.run_id) == points_per_measurement(store, info.run_id)

        # Tags: the run's, and the rows'.
        tags = client.query(f"SELECT value_ns, board, board_kind, timing, core, vm, test, scenario "
                            f"FROM irq_latency WHERE run_id = '{info.run_id}' AND level = 'HRT'")
        assert set(tags["board"]) == {"qemu-vexpress-a9"} and set(tags["board_kind"]) == {"qemu"}
        assert set(tags["timing"]) == {"icount"} and set(tags["core"]) == {"1"}
        assert set(zip(tags["scenario"], tags["test"], tags["vm"])) == {("eval-hrt", "hrt", "hrt")}
        levels = client.query('SHOW TAG VALUES FROM context_switch WITH KEY = "level"')
        assert set(levels["value"]) == {"SRT>NRT", "NRT>SRT", "linux"}

        # Values, in order, at run start + seq, with the icount fields.
        srt = client.query("SELECT value_ns, seq, instructions, icount_shift, commit "
                           f"FROM irq_latency WHERE run_id = '{info.run_id}' AND level = 'SRT' "
                           "ORDER BY time")
        stored = latency[latency["level"] == "SRT"].sort_values("seq")
        assert srt["value_ns"].tolist() == stored["value_ns"].tolist()
        assert srt["seq"].tolist() == stored["seq"].tolist()
        assert srt["time"].tolist() == [info.started_ns + seq for seq in stored["seq"]]
        assert srt["instructions"].tolist() == (stored["value_ns"] / 16).tolist()
        assert set(srt["icount_shift"]) == {4} and set(srt["commit"]) == {info.commit}

        # Histogram: Grafana's heatmap layout, one series per bucket (its upper bound in le),
        # each holding its own count, from the smallest sample's bucket to the largest's.
        buckets = client.query(
            'SELECT "count" FROM irq_latency_histogram '
            f"WHERE run_id = '{info.run_id}' AND level = 'NRT' GROUP BY le")
        nrt = np.sort(latency[latency["level"] == "NRT"]["value_ns"].to_numpy())
        got = dict(zip(buckets["le"], buckets["count"]))
        bounds = sorted(float(le) for le in got)
        assert bounds == [b for b in BUCKET_BOUNDS_NS if bounds[0] <= b <= bounds[-1]]
        lower = [0.0, *BUCKET_BOUNDS_NS]
        for le, count in got.items():
            below = lower[BUCKET_BOUNDS_NS.index(float(le))]
            assert count == int(((nrt > below) & (nrt <= float(le))).sum()), le
        assert sum(got.values()) == len(nrt)
        assert bounds[0] >= nrt.min() > lower[BUCKET_BOUNDS_NS.index(bounds[0])]
        assert bounds[-1] >= nrt.max() > lower[BUCKET_BOUNDS_NS.index(bounds[-1])]
        assert set(buckets["time"]) == {info.started_ns}  # one heatmap column per run

        # Deadline experiments: one point each, every stored field, integers stay integers.
        deadline = client.query(
            "SELECT periods, misses, handler_runs, jobs, detected, max_detect_ns FROM deadline "
            f"WHERE run_id = '{info.run_id}' GROUP BY test").set_index("test")
        assert sorted(deadline.index) == ["overload", "schedulable"]
        for row in scalars[scalars["measurement"] == "deadline"].itertuples(index=False):
            value = deadline.loc[row.test, row.field]
            assert value == row.value, (row.test, row.field)
        assert deadline.loc["overload", "misses"] == 91
        assert pd.isna(deadline.loc["schedulable", "jobs"])  # not a field of that experiment
        types = client.query("SHOW FIELD KEYS FROM deadline")
        assert dict(zip(types["fieldKey"], types["fieldType"])) == {
            "periods": "integer", "misses": "integer", "handler_runs": "integer",
            "jobs": "integer", "detected": "integer", "max_detect_ns": "float",
            "run_id": "string", "commit": "string"}

        # Console sharing: one point per VM, tagged with it; the bound only on the quiet VM's.
        console = client.query(
            "SELECT lines, line_bytes, throttled, jobs, refused_jobs, max_delay_ns, bound_ns "
            f"FROM console WHERE run_id = '{info.run_id}' GROUP BY vm, core").set_index("vm")
        assert sorted(console.index) == ["chatty", "quiet"]
        assert dict(zip(console.index, console["core"])) == {"quiet": "1", "chatty": "0"}
        for row in scalars[scalars["measurement"] == "console"].itertuples(index=False):
            assert console.loc[row.vm, row.field] == row.value, (row.vm, row.field)
        assert pd.isna(console.loc["chatty", "bound_ns"])
        types = client.query("SHOW FIELD KEYS FROM console")
        assert dict(zip(types["fieldKey"], types["fieldType"])) == {
            "lines": "integer", "line_bytes": "integer", "throttled": "integer",
            "jobs": "integer", "refused_jobs": "integer", "max_delay_ns": "float",
            "bound_ns": "float", "run_id": "string", "commit": "string"}

        # I/O costs: every sample, the path told by its level; a histogram like the latencies'.
        io = client.query(f"SELECT count(value_ns), min(value_ns) FROM io_cost "
                          f"WHERE run_id = '{info.run_id}' GROUP BY level, vm")
        stored = samples[samples["measurement"] == "io_cost"]
        assert dict(zip(io["level"], io["count"])) == stored.groupby("level").size().to_dict()
        assert dict(zip(io["level"], io["vm"])) == {"HRT": "hrt", "SRT": "quiet", "NRT": "nrt",
                                                    "NRT>Linux": "nrt"}
        io_buckets = client.query('SELECT sum("count") FROM io_cost_histogram '
                                  f"WHERE run_id = '{info.run_id}' GROUP BY level")
        assert dict(zip(io_buckets["level"], io_buckets["sum"])) == \
            stored.groupby("level").size().to_dict()

        with pytest.raises(InfluxQueryError, match="error parsing query"):
            client.query("SELEC nothing")


def test_histogram_buckets_are_r10_and_not_cumulative() -> None:
    # Ten a decade, round numbers: 200 and 250 ns apart, 1,080 and 1,250 ns apart.
    assert BUCKET_BOUNDS_NS[:11] == (10, 12.5, 16, 20, 25, 31.5, 40, 50, 63, 80, 100)
    assert len(BUCKET_BOUNDS_NS) == 91 and BUCKET_BOUNDS_NS[-1] == 1e10
    values = np.array([200.0] * 5 + [210.0, 1080.0])
    assert bucket_counts(values) == [("200", 5), ("250", 1), ("315", 0), ("400", 0), ("500", 0),
                                     ("630", 0), ("800", 0), ("1000", 0), ("1250", 1)]
    # Beyond the last bound: +Inf; each bucket only the range's, the counts add up.
    assert bucket_counts(np.array([2e10]))[-1] == ("+Inf", 1)
    assert bucket_counts(np.array([2e10])) == [("+Inf", 1)]


# --------------------------------------------------------------------------- down server


@pytest.mark.influxdb
def test_server_down_mid_run_then_backfill_exactly_once(influxd: Any, tmp_path: Path) -> None:
    store_path = tmp_path / "results.sqlite"
    store = ResultStore(store_path)
    first = add_run(store, 1)
    config = influxd.config(batch_size=200)
    destination = config.destination
    expected_first = points_per_measurement(store, first.run_id)
    killed: list[tuple[str, int, int]] = []

    def kill_after_first_batch(run_id: str, written: int, total: int) -> None:
        if not killed:
            killed.append((run_id, written, total))
            influxd.stop(kill=True)  # a crash, between two batches of the run

    result = sync(store, config, progress=quiet, on_batch=kill_after_first_batch)

    assert killed == [(first.run_id, 200, sum(expected_first.values()))]
    assert isinstance(result.error, InfluxUnavailable)
    assert influxd.url in str(result.error) and "connection refused" in str(result.error)
    assert result.failed_run == first.run_id and result.synced == []
    assert result.points == 200
    assert store.unsynced(destination) == [first.run_id]

    # A run made while the server is down: kept locally, its sync fails fast.
    second = add_run(store, 2)
    started = time.monotonic()
    result = sync(store, config, progress=quiet)
    assert time.monotonic() - started < 2.0
    assert isinstance(result.error, InfluxUnavailable) and "ping" in str(result.error)
    assert result.pending == [first.run_id, second.run_id] and result.points == 0
    assert store.unsynced(destination) == [first.run_id, second.run_id]

    # The server comes back with the half-written run: its first batch only.
    influxd.start()
    with InfluxClient(config) as client:
        assert counts_in_influx(client, first.run_id) == Counter(irq_latency=200)

    result = sync(store, config, progress=quiet)  # the backfill

    assert result.ok, result.error
    assert result.synced == [first.run_id, second.run_id]
    assert store.unsynced(destination) == []
    expected_second = points_per_measurement(store, second.run_id)
    assert result.points == sum(expected_first.values()) + sum(expected_second.values())
    with InfluxClient(config) as client:
        for run in (first, second):
            assert counts_in_influx(client, run.run_id) == points_per_measurement(store, run.run_id)
            distinct = client.query("SELECT count(distinct(seq)) FROM irq_latency "
                                    f"WHERE run_id = '{run.run_id}' GROUP BY level")
            stored = store.samples(run.run_id).query("measurement == 'irq_latency'")
            assert dict(zip(distinct["level"], distinct["count"])) == \
                stored.groupby("level").size().to_dict()

    # A second backfill, through the CLI: nothing left to write.
    completed = subprocess.run(
        [sys.executable, "-m", "lab.results", "backfill", "--store", str(store_path)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "OVM_INFLUX_URL": config.url, "OVM_INFLUX_DATABASE": config.database})
    assert completed.returncode == 0, completed.stderr
    assert "every run is synced already" in completed.stdout
    with InfluxClient(config) as client:
        for run in (first, second):
            assert counts_in_influx(client, run.run_id) == points_per_measurement(store, run.run_id)


@pytest.mark.influxdb
def test_cli_backfill_and_runs(influxd: Any, tmp_path: Path) -> None:
    store_path = tmp_path / "results.sqlite"
    store = ResultStore(store_path)
    run = add_run(store, 3)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OVM_INFLUX_")}

    def cli(*arguments: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "lab.results", *arguments,
                               "--store", str(store_path)], cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=60, env={**environment, **extra})

    listed = cli("runs", "--last", "5")
    assert listed.returncode == 0, listed.stderr
    assert run.run_id in listed.stdout and "qemu-vexpress-a9" in listed.stdout

    config_file = tmp_path / "influxdb.yaml"
    config_file.write_text(f"url: {influxd.url}\ndatabase: from_cli\nbatch_size: 1000\n")
    done = cli("backfill", "--config", str(config_file))
    assert done.returncode == 0, done.stderr
    assert f"run {run.run_id} synced" in done.stdout
    config = InfluxConfig.load({}, config_file)
    assert config is not None and store.unsynced(config.destination) == []
    with InfluxClient(config) as client:
        assert counts_in_influx(client, run.run_id) == points_per_measurement(store, run.run_id)

    influxd.stop()
    store = ResultStore(store_path)
    add_run(store, 4)
    down = cli("backfill", "--config", str(config_file))
    assert down.returncode == 1
    assert "1 run(s) not synced" in down.stderr and influxd.url in down.stderr

    unconfigured = cli("backfill", "--config", str(tmp_path / "empty.yaml"))
    assert unconfigured.returncode == 1 and "cannot read" in unconfigured.stderr
    (tmp_path / "empty.yaml").write_text("# nothing yet\n")
    unconfigured = cli("backfill", "--config", str(tmp_path / "empty.yaml"))
    assert unconfigured.returncode == 1 and "no InfluxDB configured" in unconfigured.stderr


# --------------------------------------------------------------------------- detection


@pytest.mark.influxdb
def test_detects_the_v1_write_api_on_1_6(influxd: Any) -> None:
    with InfluxClient(influxd.config()) as client:
        server = client.server()
        assert server.version is not None and server.version.startswith("1.6.")
        assert (server.write_api, server.detected_by) == ("v1", "version header")
        # Without the header, the probe comes to the same answer: 1.6 has no /api/v2/write.
        assert client.probe_write_api() == "v1"
        client.ensure_database()
        client.ensure_database()  # harmless when it exists
        assert "ovm_test" in set(client.query("SHOW DATABASES")["name"])
    # The v2 path (influxdb-client against 1.8+, 2.x, 3.x) cannot be exercised: no such
    # server can be installed on these machines, and we do not mock one. What can be seen
    # here: forced onto 1.6.7, influxdb-client's write gets the 404 the detection avoids,
    # and the error comes out as InfluxUnavailable naming the URL and what failed.
    with InfluxClient(influxd.config()) as client:
        client._server = ServerInfo("1.6.7 (taken for 1.8)", "v2", "test")
        with pytest.raises(InfluxUnavailable, match=r"write of 1 points to bucket "
                                                    r"'ovm_test' failed: HTTP 404"):
            client.write(RunPoints.of(*make_run(1)).points[:1])


def test_unreachable_server_fails_fast_with_the_url(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port that was just free: nobody listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = InfluxConfig(url=f"http://127.0.0.1:{port}", database="x", timeout_s=2)
    started = time.monotonic()
    with pytest.raises(InfluxUnavailable, match=r"127\.0\.0\.1.*ping.*connection refused"):
        InfluxClient(config).server()
    assert time.monotonic() - started < 2.0


# --------------------------------------------------------------------------- configuration


@pytest.fixture
def no_default_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """env/influxdb.yaml of a developer's checkout must not leak into these tests."""
    missing = tmp_path / "no-such-influxdb.yaml"
    monkeypatch.setattr(influx, "DEFAULT_CONFIG_FILE", missing)
    return missing


def test_config_from_the_environment(no_default_file: Path) -> None:
    config = InfluxConfig.load({"OVM_INFLUX_URL": "http://db.example:8086/",
                                "OVM_INFLUX_BUCKET": "lab", "OVM_INFLUX_TOKEN": "secret",
                                "OVM_INFLUX_ORG": "ovm", "OVM_INFLUX_TIMEOUT_S": "2.5"})
    assert config == InfluxConfig(url="http://db.example:8086", database="lab", org="ovm",
                                  token="secret", timeout_s=2.5)
    assert config.destination == "http://db.example:8086#lab"
    assert "secret" not in repr(config)


def test_no_url_means_no_influxdb(no_default_file: Path, tmp_path: Path) -> None:
    assert InfluxConfig.load({}) is None
    assert InfluxConfig.load({"OVM_INFLUX_DATABASE": "lab", "OVM_INFLUX_URL": " "}) is None
    partial = tmp_path / "influxdb.yaml"
    partial.write_text("database: lab\n")
    assert InfluxConfig.load({}, partial) is None


def test_environment_wins_over_the_file_key_by_key(tmp_path: Path) -> None:
    config_file = tmp_path / "influxdb.yaml"
    config_file.write_text("url: http://file.example:8086\ndatabase: from_file\n"
                           "username: lab\npassword: from_file\nbatch_size: 100\n")
    from_file = InfluxConfig.load({}, config_file)
    assert from_file == InfluxConfig(url="http://file.example:8086", database="from_file",
                                     username="lab", password="from_file", batch_size=100)
    both = InfluxConfig.load({"OVM_INFLUX_URL": "http://env.example:8086",
                              "OVM_INFLUX_PASSWORD": "from_env"}, config_file)
    assert both == InfluxConfig(url="http://env.example:8086", database="from_file",
                                username="lab", password="from_env", batch_size=100)


def test_the_default_file_is_read_when_it_exists(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    default = tmp_path / "influxdb.yaml"
    default.write_text("url: http://default.example:8086\ndatabase: lab\n")
    monkeypatch.setattr(influx, "DEFAULT_CONFIG_FILE", default)
    config = InfluxConfig.load({})
    assert config is not None and config.url == "http://default.example:8086"


def test_the_example_file_is_valid() -> None:
    config = InfluxConfig.load({}, REPO_ROOT / "env" / "influxdb.example.yaml")
    assert config is not None and config.database == "ovm_lab"


@pytest.mark.parametrize("text, message", [
    ("url: [unclosed\n", "not valid YAML"),
    ("- url\n", "expected a mapping"),
    ("url: http://h:8086\ndatabase: lab\ndatabse: typo\n", "unknown key.*databse"),
    ("url: h:8086\ndatabase: lab\n", "url: 'h:8086' is not an http"),
    ("url: http://h:8086\n", "no database"),
    ("url: http://h:8086\ndatabase: a\nbucket: b\n", "disagree"),
    ("url: http://h:8086\ndatabase: lab\nbatch_size: many\n",
     "batch_size: expected a positive integer"),
    ("url: http://h:8086\ndatabase: lab\ntimeout_s: 0\n", "timeout_s: expected a positive number"),
    ("url: http://h:8086\ndatabase: lab\nusername: lab\n", "password is missing"),
    ("url: {host: h}\ndatabase: lab\n", "url: expected a string"),
])
def test_a_malformed_file_names_itself(tmp_path: Path, text: str, message: str) -> None:
    config_file = tmp_path / "influxdb.yaml"
    config_file.write_text(text)
    with pytest.raises(InfluxConfigError, match=message) as raised:
        InfluxConfig.load({}, config_file)
    if "password is missing" not in message:
        assert str(config_file) in str(raised.value)


@pytest.mark.parametrize("environ, message", [
    ({"OVM_INFLUX_URL": "localhost:8086", "OVM_INFLUX_DATABASE": "x"},
     "environment variable OVM_INFLUX_URL: 'localhost:8086' is not an http"),
    ({"OVM_INFLUX_URL": "http://h:8086", "OVM_INFLUX_DATABASE": "x",
      "OVM_INFLUX_BATCH_SIZE": "-3"}, "OVM_INFLUX_BATCH_SIZE: expected a positive integer"),
    ({"OVM_INFLUX_URL": "http://h:8086"}, "OVM_INFLUX_URL sets a server but no database"),
])
def test_a_malformed_variable_names_itself(no_default_file: Path, environ: dict[str, str],
                                           message: str) -> None:
    with pytest.raises(InfluxConfigError, match=message):
        InfluxConfig.load(environ)


def test_a_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InfluxConfigError, match="no-file.yaml: cannot read"):
        InfluxConfig.load({}, tmp_path / "no-file.yaml")
