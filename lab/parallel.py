"""``python -m lab.parallel``: one run spread over several places, merged back into one run.

The runner (``lab.remote.runner``) starts one worker per place; each reserves
a place by tags, acquires it and takes jobs (``lab.remote.jobs``) from one
shared queue. The results merge into one ``run.json`` and, for the
evaluation's experiments, into one ``summary.json`` through the same assembly
as ``make lab`` (``lab.remote.merge``).

    python -m lab.parallel evaluate --boards 2          # loopback lab of 2 virtual boards
    python -m lab.parallel boot --boards 2 default irq-routing
    python -m lab.parallel evaluate --coordinator HOST:PORT --tags board=zc702 \\
        --workers 2 --env-template env/my-place.yaml   # places of a real lab
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lab import exits
from lab.firmware.build import build
from lab.paths import REPO_ROOT
from lab.remote.coordination import parse_tags
from lab.remote.jobs import Job, ParallelRunError, evaluation_jobs
from lab.remote.loopback import LoopbackLab
from lab.remote.merge import merged_evaluation
from lab.remote.runner import DEFAULT_BOARD, run_parallel
from lab.results.pipeline import keep_run
from lab.results.store import DEFAULT_STORE, ResultStore


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.parallel",
                                     description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("evaluate", "the paper's evaluation, spread over places, one summary.json"),
                       ("boot", "boot scenarios, spread over places, one run.json")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--boards", type=int, default=0,
                         help="start a loopback lab of this many virtual boards (tests the lab, "
                              "not hardware)")
        sub.add_argument("--coordinator", help="or use this coordinator's places (HOST:PORT)")
        sub.add_argument("--tags", nargs="*", default=["board=virtual"], help="places to reserve")
        sub.add_argument("--workers", type=int, default=0, help="(default: --boards)")
        sub.add_argument("--env-template", type=Path,
                         help="labgrid environment for places that are not virtual boards")
        sub.add_argument("--board", default=DEFAULT_BOARD, help="the ovm/board/ images are built for")
        sub.add_argument("--out", type=Path, default=REPO_ROOT / "reports" / "out" / "parallel")
        if name == "evaluate":
            sub.add_argument("--no-linux", action="store_true", help="skip the Linux baseline")
            sub.add_argument("--store", type=Path, default=DEFAULT_STORE, help="the local result store that keeps the run "
                             "(make lab's by default)")
            sub.add_argument("--no-store", action="store_true", help="do not keep the run")
        else:
            sub.add_argument("scenarios", nargs="+")
    args = parser.parse_args(argv)

    if bool(args.boards) == bool(args.coordinator):
        parser.error("give either --boards N (a loopback lab) or --coordinator HOST:PORT")
    jobs = evaluation_jobs() if args.command == "evaluate" else [Job.boot(s) for s in args.scenarios]
    workers = args.workers or args.boards
    if not workers:
        parser.error("--workers N: how many places to spread over")

    def spread(coordinator: str) -> int:
        run = run_parallel(jobs, coordinator=coordinator, tags=parse_tags(args.tags),
                           workers=workers, out_dir=args.out, board=args.board,
                           env_template=args.env_template)
        print(f"[parallel] run: {args.out / 'run.json'}; places: " + ", ".join(
            f"{place} ({', '.join(info['jobs']) or 'no jobs'})" for place, info in run.places.items()))
        if run.failures:
            for name, why in run.failures.items():
                print(f"[parallel] {name}: {why}", file=sys.stderr)
            return exits.FAILED
        if args.command == "evaluate":
            try:
                evaluation = merged_evaluation(run, out_dir=args.out, linux=not args.no_linux)
            except ParallelRunError as error:
                print(f"[parallel] {error}", file=sys.stderr)
                return exits.FAILED
            print(f"[parallel] summary: {args.out / 'summary.json'}")
            if not args.no_store:
                keep_run(evaluation.kept("parallel"), ResultStore(args.store), args.out)
        return exits.OK

    def spread_here() -> int:
        # SIGTERM unwinds like Ctrl-C (exits.run_command): the workers release their places.
        if args.coordinator:
            return spread(args.coordinator)
        image = build(args.board, "default", repo_root=REPO_ROOT).elf
        with LoopbackLab(args.out / "loopback", image, boards=args.boards,
                         tags=parse_tags(args.tags)) as lab:
            print(f"[parallel] loopback lab: coordinator {lab.coordinator}, places "
                  f"{', '.join(lab.place_names)} (virtual boards: QEMU, for testing the lab)")
            return spread(lab.coordinator)

    return exits.run_command("parallel", spread_here)


if __name__ == "__main__":
    sys.exit(main())
