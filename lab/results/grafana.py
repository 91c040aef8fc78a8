"""The Grafana dashboard (``env/grafana/ovm-lab-dashboard.json``), generated from the catalogue.

Every measurement of ``lab.results.catalogue`` gets its panel: a sample
measurement its tracked statistics per run (one line per level tag), the
interrupt latency its heatmap too; a scalar measurement its figures per run,
and the deadline experiments a table. Queries are InfluxQL over the schema of
``lab.results.schema``, so the same dashboard reads InfluxDB 1.x, 2.x (v1
compatibility, DBRP mapping) and 3.x. ``python -m lab.results grafana`` writes
it; a test checks the file in the repository is what the catalogue gives.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lab.paths import ENV_DIR

from . import catalogue
from .schema import HISTOGRAM_SUFFIX

DASHBOARD_FILE = ENV_DIR / "grafana" / "ovm-lab-dashboard.json"
DATASOURCE = {"type": "influxdb", "uid": "${DS_INFLUXDB}"}
SELECTED = '"board_kind" =~ /^$board_kind$/ AND "board" =~ /^$board$/'
# InfluxQL for a tracked statistic of a run's samples.
SELECTORS = {"max": 'max("value_ns")', "mean": 'mean("value_ns")',
             "p99": 'percentile("value_ns", 99)'}
PANEL_WIDTH, PANEL_HEIGHT = 12, 9

# What a panel says about its measurement: the words, not the data.
TITLES = {
    "irq_latency": ("IRQ latency per level",
                    "irq_latency samples of each run, per criticality level: its tracked "
                    "statistics. A run's samples lie within microseconds of its start "
                    "(time = run start + seq ns), so each interval holds one point per run. "
                    "Under QEMU (timing=icount) these are virtual ns: instruction counts x "
                    "2^shift, not time on silicon."),
    "irq_deferred": ("NRT interrupts deferred to the vCPU's dispatch",
                     "irq_deferred samples per run: interrupts of the NRT that expired while "
                     "another vCPU held its core, delivered at the NRT's next dispatch "
                     "(the paper's interrupt scheduling)."),
    "context_switch": ("Context switch: OVM vs Linux",
                       "context_switch samples per run: OVM's vCPU switch (level SRT>NRT, and "
                       "NRT>SRT when the SRT guest preempts) against Linux's process switch "
                       "(level linux) on the same board."),
    "io_cost": ("I/O: cost of one device access per path",
                "io_cost samples per run: one device access, less the cost of reading the "
                "time. Level HRT: passthrough (a direct MMIO read, no OVM on the path); SRT: "
                "OVM proxy (an input hypercall served by OVM); NRT: host proxy (an input "
                "served by the host guest on the other core). Log scale: the paths differ by "
                "orders of magnitude."),
    "deadline": ("Deadline misses per run",
                 "deadline experiments: misses per run and experiment (test), and how many of "
                 "them OVM detected. The schedulable set must show 0; the overload experiment "
                 "misses by design, and detected should equal misses."),
    "console": ("Console sharing: line waits per VM, and the bound",
                "console points per run (scenario io-proxy): max_delay_ns is the longest a "
                "VM's line waited for the shared console UART; bound_ns what the sharing "
                "promises a VM within its share (2 rounds; the quiet VM's). The chatty VM "
                "writes beyond its share: its lines wait longer and its writes are refused "
                "(throttled)."),
}
# Measurements whose values span orders of magnitude: a log axis.
LOG_SCALE = {"io_cost"}
# Scalar figures graphed over runs (the rest are in the tables).
GRAPHED_FIELDS = {"deadline": ("misses", "detected"), "console": ("max_delay_ns", "bound_ns")}


def _target(ref: str, query: str, alias: str, result_format: str = "time_series") -> dict:
    return {"refId": ref, "datasource": DATASOURCE, "rawQuery": True, "query": query,
            "alias": alias, "resultFormat": result_format}


def _timeseries(title: str, description: str, targets: list[dict], unit: str, *,
                log: bool = False, bars: bool = False) -> dict[str, Any]:
    custom: dict[str, Any] = {
        "drawStyle": "bars" if bars else "line", "lineWidth": 1, "pointSize": 5,
        "showPoints": "always", "spanNulls": True, "fillOpacity": 80 if bars else 0}
    custom.update({"scaleDistribution": {"type": "log", "log": 10}} if log
                  else {"axisSoftMin": 0})
    defaults: dict[str, Any] = {"unit": unit, "custom": custom}
    if unit == "none":
        defaults["decimals"] = 0
    return {"type": "timeseries", "title": title, "description": description,
            "targets": targets, "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": {"legend": {"displayMode": "table", "placement": "bottom",
                                   "calcs": ["lastNotNull", "max"]},
                        "tooltip": {"mode": "multi", "sort": "desc"}}}


def _refs() -> Iterator[str]:
    return iter("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _sample_panel(measurement: str) -> dict[str, Any]:
    tracked = dict.fromkeys(stat for s in catalogue.SERIES if s.measurement == measurement
                            for stat in s.trend) or {"max": None}
    levels = ' AND "level" =~ /^$level$/' if measurement == "irq_latency" else ""
    refs = _refs()
    targets = [_target(next(refs),
                       f'SELECT {SELECTORS[stat]} FROM "{measurement}" WHERE {SELECTED}{levels} '
                       f'AND $timeFilter GROUP BY time($__interval), "level" fill(none)',
                       f"$tag_level {stat}") for stat in tracked]
    title, description = TITLES[measurement]
    return _timeseries(f"{title}: {', '.join(tracked)}", description, targets, "ns",
                       log=measurement in LOG_SCALE)


def _latency_heatmap() -> dict[str, Any]:
    query = (f'SELECT sum("count") FROM "irq_latency{HISTOGRAM_SUFFIX}" WHERE '
             f'{SELECTED} AND "level" =~ /^$level$/ AND $timeFilter '
             f'GROUP BY time($__interval), "le" fill(none)')
    return {
        "type": "heatmap", "title": "IRQ latency distribution: $level",
        "description": ("irq_latency_histogram: per run, one series per bucket (tag le, its "
                        "upper bound in ns; ten buckets per decade, R10: 100, 125, 160, 200, "
                        "250, ...), each with the count of its own samples (not cumulative). A "
                        "column is a run: the colour is where its samples lie. One panel per "
                        "selected level."),
        "repeat": "level", "repeatDirection": "h", "maxPerRow": 2,
        "targets": [_target("A", query, "$tag_le")],
        "fieldConfig": {"defaults": {"custom": {
            "hideFrom": {"legend": False, "tooltip": False, "viz": False},
            "scaleDistribution": {"type": "linear"}}}, "overrides": []},
        "options": {
            "calculate": False, "rowsFrame": {"layout": "le"},
            "yAxis": {"axisPlacement": "left", "unit": "ns", "reverse": False},
            "cellValues": {"unit": "short"},
            "color": {"mode": "scheme", "scheme": "Oranges", "scale": "exponential",
                      "exponent": 0.5, "fill": "dark-orange", "steps": 64, "reverse": False},
            "filterValues": {"le": 1e-09}, "cellGap": 1,
            "tooltip": {"show": True, "yHistogram": False}, "legend": {"show": True},
            "showValue": "never"},
    }


def _scalar_panel(measurement: str) -> dict[str, Any]:
    tag = catalogue.SCALAR_KEY_TAGS[measurement]
    fields = GRAPHED_FIELDS[measurement]
    refs = _refs()
    aggregate = "sum" if measurement == "deadline" else "max"
    targets = [_target(next(refs),
                       f'SELECT {aggregate}("{field}") AS "{field}" FROM "{measurement}" WHERE '
                       f'{SELECTED} AND $timeFilter GROUP BY time($__interval), "{tag}" fill(none)',
                       f"$tag_{tag} $col") for field in fields]
    unit = "ns" if all(field.endswith("_ns") for field in fields) else "none"
    title, description = TITLES[measurement]
    return _timeseries(title, description, targets, unit, bars=unit == "none")


def _scalar_table(measurement: str) -> dict[str, Any]:
    fields = ("run_id", "commit", *catalogue.measured_fields(measurement))
    tag = catalogue.SCALAR_KEY_TAGS[measurement]
    query = (f'SELECT {", ".join(f"{chr(34)}{f}{chr(34)}" for f in fields)} FROM "{measurement}" '
             f'WHERE {SELECTED} AND $timeFilter GROUP BY "board", "{tag}"')
    ns_fields = [f for f in fields if f.endswith("_ns")]
    return {
        "type": "table", "title": f"{TITLES[measurement][0]}: every figure, run by run",
        "description": ("One row per point of each run (run_id and commit are fields, not "
                        "tags: they are new every run)."),
        "targets": [_target("A", query, "", "table")],
        "fieldConfig": {"defaults": {"custom": {"align": "auto"}}, "overrides": [
            {"matcher": {"id": "byName", "options": name},
             "properties": [{"id": "unit", "value": "ns"}]} for name in ns_fields]},
        "options": {"showHeader": True, "sortBy": [{"displayName": "Time", "desc": True}]},
    }


def _variable(name: str, label: str, query: str) -> dict[str, Any]:
    return {"name": name, "label": label, "type": "query", "datasource": DATASOURCE,
            "query": query, "definition": query, "refresh": 2, "multi": True,
            "includeAll": True, "allValue": ".*", "sort": 1, "regex": "",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "options": [], "hide": 0}


def panels() -> list[dict[str, Any]]:
    """Every panel, in the catalogue's order, laid out two to a row."""
    made: list[dict[str, Any]] = []
    for measurement in catalogue.SAMPLE_MEASUREMENTS:
        made.append(_sample_panel(measurement))
        if measurement == "irq_latency":
            made.append(_latency_heatmap())
    for measurement in catalogue.SCALAR_MEASUREMENTS:
        made.append(_scalar_panel(measurement))
        made.append(_scalar_table(measurement))
    laid_out = []
    for index, panel in enumerate(made):
        grid = {"x": PANEL_WIDTH * (index % 2), "y": PANEL_HEIGHT * (index // 2),
                "w": PANEL_WIDTH, "h": PANEL_HEIGHT}
        laid_out.append({"id": index + 1, **{k: panel[k] for k in ("type", "title", "description")},
                         "datasource": DATASOURCE, "gridPos": grid,
                         **{k: v for k, v in panel.items()
                            if k not in ("type", "title", "description")}})
    return laid_out


def dashboard() -> dict[str, Any]:
    first = catalogue.SAMPLE_MEASUREMENTS[0]
    return {
        "uid": "ovm-lab-results",
        "title": "OVM Lab: latency, context switch, deadlines, I/O",
        "description": ("Results of make lab / make nightly, written by lab.results.influx "
                        "(schema: lab/results/schema.py; panels: lab/results/catalogue.py, "
                        "generated by python -m lab.results grafana). InfluxQL; InfluxDB 1.x, "
                        "2.x (v1 compatibility, DBRP mapping) or 3.x."),
        "tags": ["ovm", "trustzone", "latency"],
        "editable": True, "graphTooltip": 1, "timezone": "utc", "schemaVersion": 39,
        "version": 1, "refresh": "", "liveNow": False, "fiscalYearStartMonth": 0,
        "time": {"from": "now-30d", "to": "now"}, "timepicker": {}, "links": [],
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}]},
        "templating": {"list": [
            {"name": "DS_INFLUXDB", "label": "InfluxDB", "type": "datasource",
             "query": "influxdb", "regex": "", "hide": 0, "refresh": 1, "includeAll": False,
             "multi": False, "current": {}, "options": []},
            _variable("board_kind", "Board kind",
                      f'SHOW TAG VALUES FROM "{first}" WITH KEY = "board_kind"'),
            _variable("board", "Board", f'SHOW TAG VALUES FROM "{first}" WITH KEY = "board" '
                                        'WHERE "board_kind" =~ /^$board_kind$/'),
            _variable("level", "Level", f'SHOW TAG VALUES FROM "{first}" WITH KEY = "level"'),
        ]},
        "panels": panels(),
    }


def dashboard_text() -> str:
    return json.dumps(dashboard(), indent=2) + "\n"


def write_dashboard(path: Path = DASHBOARD_FILE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dashboard_text())
    return path
