"""``python -m lab.results``: the local result store and its InfluxDB, from the command line.

  backfill   send every stored run that has not reached the configured InfluxDB
  runs       list the stored runs
  grafana    write the Grafana dashboard generated from the catalogue of series
"""

# Adding a subcommand: write ``_add_<name>(subparsers)``, which registers its
# arguments and sets ``handler`` (a function of the parsed arguments returning
# the exit status), and append it to SUBCOMMANDS.

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from .grafana import DASHBOARD_FILE, write_dashboard
from .influx import InfluxConfig, InfluxError, sync
from .store import DEFAULT_STORE, ResultStore

Handler = Callable[[argparse.Namespace], int]


def _store_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE,
                        help=f"the local result store (default: {DEFAULT_STORE})")


def _open_store(path: Path) -> ResultStore:
    if not path.is_file():
        raise SystemExit(f"error: {path}: no result store here (make lab creates one)")
    return ResultStore(path)


def _add_backfill(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "backfill", help="write every stored run not yet in the configured InfluxDB",
        description="Write every stored run that has not reached the configured InfluxDB "
                    "(OVM_INFLUX_* variables or env/influxdb.yaml), oldest first. Exit 0 when "
                    "every run is there, 1 when InfluxDB is not configured or not reachable.")
    _store_argument(parser)
    parser.add_argument("--config", type=Path, default=None,
                        help="InfluxDB settings (YAML; default: env/influxdb.yaml if it exists)")
    parser.set_defaults(handler=_backfill)


def _backfill(args: argparse.Namespace) -> int:
    try:
        config = InfluxConfig.load(config_file=args.config)
    except InfluxError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if config is None:
        print("error: no InfluxDB configured: set OVM_INFLUX_URL and OVM_INFLUX_DATABASE, "
              "or write env/influxdb.yaml (see env/influxdb.example.yaml)", file=sys.stderr)
        return 1
    result = sync(_open_store(args.store), config, progress=lambda line: print(line, flush=True))
    if not result.ok:
        print(f"error: backfill stopped, {len(result.pending)} run(s) not synced: {result.error}",
              file=sys.stderr)
        return 1
    print(f"[influx] backfill done: {len(result.synced)} run(s), {result.points} points "
          f"written to {config.destination}")
    return 0


def _add_runs(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("runs", help="list the stored runs, oldest first")
    _store_argument(parser)
    parser.add_argument("--last", type=int, default=None, metavar="N",
                        help="only the last N runs")
    parser.set_defaults(handler=_runs)


def _runs(args: argparse.Namespace) -> int:
    runs = _open_store(args.store).runs(last=args.last)
    if runs.empty:
        print(f"{args.store}: no runs stored")
        return 0
    table = runs.assign(
        started=pd.to_datetime(runs["started_ns"], unit="ns", utc=True).dt.strftime(
            "%Y-%m-%d %H:%M:%S"),
        icount_shift=runs["icount_shift"].map(lambda v: "-" if pd.isna(v) else str(int(v))),
    )[["run_id", "started", "board", "timing", "icount_shift", "commit", "source"]]
    print(table.to_string(index=False))
    return 0


def _add_grafana(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "grafana", help="write the Grafana dashboard, generated from the catalogue of series")
    parser.add_argument("--out", type=Path, default=DASHBOARD_FILE,
                        help=f"where to write it (default: {DASHBOARD_FILE})")
    parser.set_defaults(handler=_grafana)


def _grafana(args: argparse.Namespace) -> int:
    print(f"[grafana] dashboard: {write_dashboard(args.out)}")
    return 0


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_backfill, _add_runs, _add_grafana]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lab.results", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
