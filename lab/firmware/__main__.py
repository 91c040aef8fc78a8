"""Command line: python -m lab.firmware {build,check,list}."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from lab.paths import REPO_ROOT

from .build import build
from .errors import BoardLacksError, BuildError, ConfigError
from .loader import available_boards, available_scenarios, load_board, load_scenario
from .size import format_table

# Exit status for a configuration or build error, as opposed to 1 for a crash.
EXIT_ERROR = 2



def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.command(args)
    except (ConfigError, BuildError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR


def _build(args: argparse.Namespace) -> int:
    result = build(
        args.board,
        args.scenario,
        repo_root=args.repo,
        build_root=args.build_root,
        jobs=args.jobs,
    )
    print(format_table(result.sizes))
    print(f"[firmware] built {result.elf}")
    return 0


def _check(args: argparse.Namespace) -> int:
    ovm_root = args.repo / "ovm"
    boards = available_boards(ovm_root)
    scenarios = available_scenarios(ovm_root)
    if not boards or not scenarios:
        print(f"error: no boards or no scenarios under {ovm_root}", file=sys.stderr)
        return EXIT_ERROR
    failures = 0
    for board_name in boards:
        for scenario_name in scenarios:
            pair = f"{board_name} / {scenario_name}"
            try:
                board = load_board(ovm_root, board_name)
                scenario = load_scenario(ovm_root, scenario_name, board)
            except BoardLacksError as err:
                print(f"n/a   {pair}: {err}")
                continue
            except ConfigError as err:
                failures += 1
                print(f"FAIL  {pair}: {err}")
                continue
            print(f"ok    {pair}: {len(scenario.vms)} VMs")
    return EXIT_ERROR if failures else 0


def _list(args: argparse.Namespace) -> int:
    ovm_root = args.repo / "ovm"
    print("boards:    " + " ".join(available_boards(ovm_root)))
    print("scenarios: " + " ".join(available_scenarios(ovm_root)))
    return 0


def _jobs(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lab.firmware", description=__doc__)
    parser.add_argument(
        "--repo", type=Path, default=REPO_ROOT, help="repository root (default: %(default)s)"
    )
    commands = parser.add_subparsers(required=True, metavar="command")

    build_parser = commands.add_parser("build", help="build OVM for a board and scenario")
    build_parser.add_argument("--board", required=True)
    build_parser.add_argument("--scenario", required=True)
    build_parser.add_argument("--jobs", "-j", type=_jobs, default=2)
    build_parser.add_argument(
        "--build-root",
        type=Path,
        help="where build/<board>/<scenario>/ goes (default: <repo>/build)",
    )
    build_parser.set_defaults(command=_build)

    check_parser = commands.add_parser("check", help="validate every board with every scenario")
    check_parser.set_defaults(command=_check)

    list_parser = commands.add_parser("list", help="list boards and scenarios")
    list_parser.set_defaults(command=_list)
    return parser


if __name__ == "__main__":
    sys.exit(main())
