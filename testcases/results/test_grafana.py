"""The Grafana dashboard (env/grafana/ovm-lab-dashboard.json) matches the result schema.

Statically: it parses, every query reads the data source variable and names
only measurements, tags and fields of ``lab.results.schema``. Against a real
influxd: every query (panels and template variables), with Grafana's macros
filled in, is valid InfluxQL and finds the data of a synced run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from test_influx import make_run

from lab.results.catalogue import SAMPLE_MEASUREMENTS, SCALAR_MEASUREMENTS
from lab.results.grafana import dashboard_text
from lab.results.influx import InfluxClient, sync
from lab.results.schema import HISTOGRAM_SUFFIX, TAG_KEYS
from lab.results.store import ResultStore

DASHBOARD = Path(__file__).resolve().parents[2] / "env" / "grafana" / "ovm-lab-dashboard.json"
MEASUREMENTS = {*SAMPLE_MEASUREMENTS, *(m + HISTOGRAM_SUFFIX for m in SAMPLE_MEASUREMENTS),
                *SCALAR_MEASUREMENTS}
# The fields the schema's docstring lists, per kind of point.
FIELDS = {"value_ns", "instructions", "seq", "run_id", "commit", "icount_shift",
          "count", "periods", "misses", "handler_runs", "jobs", "detected",
          "max_detect_ns", "lines", "line_bytes", "throttled", "refused_jobs", "max_delay_ns",
          "bound_ns"}
TAGS = {*TAG_KEYS, "le"}
VARIABLES = {"board", "board_kind", "level"}


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def panel_queries() -> list[tuple[str, str]]:
    return [(panel["title"], target["query"])
            for panel in dashboard()["panels"] for target in panel["targets"]]


def variable_queries() -> list[tuple[str, str]]:
    return [(variable["name"], variable["query"]) for variable in dashboard()["templating"]["list"]
            if variable["type"] == "query"]


def test_every_panel_reads_a_schema_measurement_through_the_variable() -> None:
    board = dashboard()
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    assert variables["DS_INFLUXDB"]["type"] == "datasource"
    assert variables["DS_INFLUXDB"]["query"] == "influxdb"
    assert VARIABLES <= set(variables)
    assert len({panel["id"] for panel in board["panels"]}) == len(board["panels"]) >= 4
    for panel in board["panels"]:
        assert panel["targets"], panel["title"]
        assert panel["datasource"] == {"type": "influxdb", "uid": "${DS_INFLUXDB}"}
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${DS_INFLUXDB}"
            assert target["rawQuery"] is True
    for where, query in panel_queries() + variable_queries():
        measurements = re.findall(r'\bFROM\s+"?(\w+)"?', query)
        assert measurements and set(measurements) <= MEASUREMENTS, (where, query)
        aliases = set(re.findall(r'\bAS\s+"(\w+)"', query))
        identifiers = set(re.findall(r'"([^"]+)"', query)) - aliases - set(measurements)
        assert identifiers <= TAGS | FIELDS, (where, identifiers - TAGS - FIELDS)
        assert set(re.findall(r"\$(?!timeFilter|__interval)(\w+)", query)) <= VARIABLES, query


def test_the_dashboard_is_the_one_the_catalogue_generates() -> None:
    assert DASHBOARD.read_text() == dashboard_text(), (
        "env/grafana/ovm-lab-dashboard.json is stale: run python -m lab.results grafana")
    measurements = set(re.findall(r'\bFROM\s+"(\w+)"', " ".join(q for _, q in panel_queries())))
    assert set(SAMPLE_MEASUREMENTS) | set(SCALAR_MEASUREMENTS) <= measurements


def test_the_panels_the_lab_needs_are_there() -> None:
    queries = " ".join(query for _, query in panel_queries())
    assert 'max("value_ns") FROM "irq_latency"' in queries
    assert '"irq_latency_histogram"' in queries and 'GROUP BY time($__interval), "le"' in queries
    heatmap = next(panel for panel in dashboard()["panels"] if panel["type"] == "heatmap")
    # Per-bucket counts, one series per le (its upper bound): what rowsFrame.layout le reads.
    assert heatmap["targets"][0]["query"].startswith('SELECT sum("count") FROM')
    assert heatmap["options"]["rowsFrame"] == {"layout": "le"}
    assert heatmap["options"]["calculate"] is False
    assert 'mean("value_ns")' in queries and 'FROM "context_switch"' in queries
    assert 'sum("misses")' in queries
    assert 'FROM "io_cost"' in queries and 'GROUP BY time($__interval), "level"' in queries
    assert 'max("max_delay_ns")' in queries and 'FROM "console"' in queries
    types = {panel["type"] for panel in dashboard()["panels"]}
    assert {"timeseries", "heatmap", "table"} <= types


def _fill_in(query: str, start_ns: int, end_ns: int) -> str:
    """Grafana's macros, as Grafana would fill them with "All" selected."""
    query = query.replace("$timeFilter", f"time >= {start_ns} AND time <= {end_ns}")
    query = query.replace("$__interval", "1h")
    return re.sub(r"\$(board_kind|board|level)\b", ".*", query)


@pytest.mark.influxdb
def test_every_query_runs_and_finds_the_data(influxd: Any, tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "results.sqlite")
    runs = [make_run(number) for number in (1, 2)]
    for info, samples, scalars in runs:
        store.add_run(info, samples, scalars, {})
    config = influxd.config()
    assert sync(store, config, progress=lambda _: None).ok
    start, end = runs[0][0].started_ns - 1, runs[-1][0].started_ns + 10**9
    with InfluxClient(config) as client:
        for where, query in panel_queries() + variable_queries():
            frame = client.query(_fill_in(query, start, end))
            assert not frame.empty, (where, query)
        levels = client.query(_fill_in(dict(variable_queries())["level"], start, end))
        assert set(levels["value"]) == {"native", "HRT", "HRT_user", "SRT", "NRT"}
