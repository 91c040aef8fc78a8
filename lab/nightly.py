"""``make nightly``: the evaluation, kept and reported, then the trend and its regressions.

Runs the evaluation on the environment's target (as ``make lab`` does, the
run tagged ``source=nightly``), keeps it in the local store (and InfluxDB if
configured), then compares the newest run with the ones before it on the
same board and timing (``lab.results.trend``) and writes the trend report
(``trend.html``, each run's report in ``runs/`` beside it).
The trend reads the local store, or InfluxDB with ``--from influxdb``.

On the lab (``--lg-env env/zc702-remote.yaml``) the evaluation first gets a
place as ``make lab`` does (``lab.remote.placement``: ``--acquire-timeout``,
``--coordinator``, ``--health-check``); with ``--fallback-qemu`` a night
without a ZC702 runs on QEMU instead, its results tagged ``board_kind=qemu``
and its trend the QEMU board's. The place is given back before the trend.

Exit status: 0 no regression; 1 a regression (each printed, naming metric,
runs and commits); 2 the run itself failed (its partial files stay under
``--out``/runs/, marked INCOMPLETE; ``--out``/latest still holds the last
complete run); 130 interrupted; 143 terminated (SIGTERM). Meant for cron or a
systemd timer (README: "The nightly job").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lab import exits
from lab.evaluation.evaluate import evaluate_and_keep
from lab.paths import REPO_ROOT, default_lg_env
from lab.remote.health_ledger import HealthLedger, run_counted
from lab.remote.placement import (
    PlacementError,
    add_placement_arguments,
    placed_from_args,
)
from lab.results.influx import InfluxClient, InfluxConfig, InfluxError
from lab.results.outputs import RunFailed, complete_or_abandoned
from lab.results.store import DEFAULT_STORE, ResultStore
from lab.results.trend import NoiseBand, detect, figures_frame
from lab.results.trend_influx import figures_from_influx
from lab.results.trend_report import render_trend_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.nightly", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lg-env", type=Path, default=default_lg_env())
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "reports" / "out" / "nightly")
    parser.add_argument("--last", type=int, default=30, help="runs in the trend (default 30)")
    parser.add_argument("--window", type=int, default=5,
                        help="runs before the newest that form the baseline (default 5)")
    parser.add_argument("--noise", type=float, default=NoiseBand().min_fraction,
                        help="real-time data: smallest change that is not noise, as a fraction")
    parser.add_argument("--from", dest="source", choices=("store", "influxdb"), default="store",
                        help="where the trend's figures come from (default: the local store)")
    parser.add_argument("--no-run", action="store_true",
                        help="only the trend over what is stored: no evaluation")
    add_placement_arguments(parser)
    args = parser.parse_args(argv)
    return exits.run_command("nightly", lambda: _nightly(args))


def _nightly(args: argparse.Namespace) -> int:
    board = None
    if not args.no_run:
        try:
            with placed_from_args(args.lg_env, args,
                                  log=lambda line: print(line, flush=True)) as placement, \
                    complete_or_abandoned(args.out / "latest", who="nightly") as run_dir, \
                    run_counted(placement, HealthLedger(args.health_dir / "health.json"),
                                log=run_dir.path / "lab.log",
                                say=lambda line: print(line, file=sys.stderr, flush=True)):
                info = evaluate_and_keep(placement.env_file, run_dir.path, args.store,
                                         source="nightly",
                                         progress=lambda line: print(line, flush=True),
                                         check_held=placement.check_held)
        except PlacementError as error:
            print(f"[nightly] {error}", file=sys.stderr)
            return exits.FAILED
        except RunFailed:  # said by complete_or_abandoned
            return exits.FAILED
        board = info.board
    return _trend(args, board)


def _trend(args: argparse.Namespace, board: str | None) -> int:
    store = ResultStore(args.store)
    if args.source == "influxdb":
        config = InfluxConfig.load()
        if config is None:
            print("[nightly] --from influxdb, but no InfluxDB is configured", file=sys.stderr)
            return exits.FAILED
        try:
            with InfluxClient(config) as client:
                frame = figures_from_influx(client, last=args.last, board=board)
        except InfluxError as error:
            print(f"[nightly] trend from InfluxDB failed: {error}", file=sys.stderr)
            return exits.FAILED
        where = f"InfluxDB {config.destination}"
    else:
        frame = figures_frame(store, last=args.last, board=board)
        where = f"the local store {store.path}"
    print(f"[nightly] trend over {len(frame)} run(s) from {where}", flush=True)
    band = NoiseBand(min_fraction=args.noise)
    regressions = detect(frame, window=args.window, band=band)
    # With the store: each run's report beside the trend (runs/), linked from it.
    report = render_trend_report(frame, regressions, args.out / "trend.html",
                                 window=args.window, source=where, band=band, store=store)
    print(f"[nightly] trend report: {report}")
    for regression in regressions:
        print(regression.describe())
    if regressions:
        return exits.REGRESSION
    print("[nightly] no regression against the baseline")
    return exits.OK


if __name__ == "__main__":
    sys.exit(main())
