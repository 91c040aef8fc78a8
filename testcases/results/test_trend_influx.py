"""The nightly trend read back from a real influxd gives the figures the local store has."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_influx import make_run, quiet

from lab.evaluation.summary import build_summary
from lab.results.influx import InfluxClient, sync
from lab.results.statistics import Timebase
from lab.results.store import ResultStore
from lab.results.trend import METRICS, figures_frame
from lab.results.trend_influx import figures_from_influx
from lab.target.provenance import Provenance


@pytest.mark.influxdb
def test_trend_figures_from_influxdb_equal_the_local_stores(influxd: Any, tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "results.sqlite")
    for number in range(3):
        info, samples, scalars = make_run(number)
        provenance = Provenance(info.board, info.board_kind, info.timing, info.icount_shift,
                                info.commit)
        summary = build_summary(samples, scalars, Timebase(100_000_000, info.icount_shift),
                                provenance, {}, 0, None)
        store.add_run(info, samples, scalars, summary)
    config = influxd.config()
    assert sync(store, config, quiet).ok
    local = figures_frame(store)
    with InfluxClient(config) as client:
        remote = figures_from_influx(client, last=2)
    assert list(remote["run_id"]) == list(local["run_id"])[-2:]
    assert list(remote["commit"]) == list(local["commit"])[-2:]
    for metric in METRICS:
        np.testing.assert_allclose(remote[metric.path].to_numpy(dtype=float),
                                   local[metric.path].to_numpy(dtype=float)[-2:],
                                   err_msg=metric.path, equal_nan=True)
