"""One worker of a parallel run: holds one place and runs the jobs the runner sends it.

Started by ``lab.remote.runner`` as ``python -m lab.remote.worker``; it speaks
JSON lines with the runner on its standard input and output, and everything
else it prints (labgrid, builds) goes to its log on standard error.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from dataclasses import asdict
from pathlib import Path

from labgrid import Environment

from lab.evaluation.experiments import experiment, run_experiment
from lab.paths import REPO_ROOT
from lab.target.provenance import git_commit

from .coordination import LabClient, client_env, holding, parse_tags, write_yaml
from .jobs import Job, JobResult
from .virtual_board import VirtualBoardStrategy


def _place_provenance(strategy, place: str, client, env, repo_root: Path) -> dict:
    if isinstance(strategy, VirtualBoardStrategy):
        info = strategy.board().info()
        return {"place": place, "commit": git_commit(repo_root),
                **{k: info[k] for k in ("kind", "board", "board_kind", "timing", "icount_shift", "qemu")}}
    # Another kind of place (a lab board): what its environment and tags say.
    tags = dict(client.show(place).tags)
    return {"place": place, "commit": git_commit(repo_root), "kind": "lab board", "tags": tags,
            "board": env.config.get_option("ovm_board", tags.get("board", "unknown")),
            "board_kind": "zc702", "timing": "real", "icount_shift": None}


def _run_job(job: Job, strategy, board: str, repo_root: Path, out_dir: Path, place: str,
             user: str) -> JobResult:
    started = time.monotonic()
    if job.experiment:
        def log(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

        done = run_experiment(experiment(job.experiment), strategy, board, repo_root,
                              out_dir / "workers" / "logs", log)
        return JobResult(job.name, place, user, True, build=done.build, console=done.console,
                         wall_s=done.wall_s)
    if job.image is None:
        raise ValueError(f"job {job.name}: no image (the runner builds one before it starts)")
    strategy.select_image(Path(job.image))
    strategy.transition("ovm")
    transcript = strategy.transcript
    try:
        lines = {}
        for i, pattern in enumerate(job.until):
            match = transcript.wait_for(pattern, job.timeout_s, what=f"{job.name}: /{pattern}/")
            lines[str(i)] = match.groupdict() or {"line": match[0]}
        banner = asdict(strategy.banner)
    finally:
        console = transcript.text
        strategy.transition("off")
    return JobResult(job.name, place, user, True, build=banner["build"], banner=banner, lines=lines,
                     console=console, wall_s=time.monotonic() - started)


def _leave_place(strategy, user: str) -> None:
    """Power the board off and put its own image back, for the next user.

    Through the drivers, not the strategy's transitions: an interrupted
    transition leaves a labgrid strategy broken, and the board must go off anyway.
    """
    def power_off():
        strategy.target.activate(strategy.power)
        strategy.power.off()

    def restore_image():
        if isinstance(strategy, VirtualBoardStrategy):
            board = strategy.board()
            board.set_image(str(board.info()["default_image"]))
        else:
            strategy.select_image(None)

    for name, step in (("power off", power_off), ("restore the image", restore_image)):
        try:
            step()
        except Exception as error:  # noqa: BLE001 - the place is released anyway
            print(f"[worker {user}] {name}: {error}", file=sys.stderr, flush=True)


def worker_main(args: argparse.Namespace) -> int:
    # The protocol with the runner is JSON lines on the original stdout; everything
    # else this process prints (labgrid, builds) goes to stderr, the worker's log.
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(message: dict) -> None:
        protocol.write(json.dumps(message) + "\n")
        protocol.flush()

    # SIGTERM (the runner interrupted) unwinds like an error: the place is released.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    os.environ["LG_USERNAME"] = args.user  # the in-process RemotePlace session is this user too
    os.environ["LG_COORDINATOR"] = args.coordinator
    client = LabClient(args.coordinator, user=args.user)
    tags = parse_tags(args.tags)
    env = None
    ready = False
    try:
        with holding(client, tags, timeout=args.reservation_timeout) as reservation:
            place = reservation.allocated_place
            print(f"[worker {args.user}] holding {place}", file=sys.stderr, flush=True)
            # A template names its place as env/zc702-remote.yaml does: !template $LG_PLACE
            os.environ["LG_PLACE"] = place
            env_file = args.env_template or write_yaml(
                args.out / "workers" / f"{args.user}.env.yaml",
                client_env(place, args.coordinator, ovm_board=args.board))
            env = Environment(str(env_file))
            target = env.get_target("main")
            strategy = target.get_driver("OVMStrategy")
            send({"ready": {"place": place, "provenance": _place_provenance(
                strategy, place, client, env, REPO_ROOT)}})
            ready = True
            try:
                for line in sys.stdin:
                    job = Job.from_dict(json.loads(line)["job"])
                    try:
                        result = _run_job(job, strategy, args.board, REPO_ROOT, args.out, place, args.user)
                    except Exception as error:  # noqa: BLE001 - reported, next job
                        result = JobResult(job.name, place, args.user, False,
                                           error=f"{type(error).__name__}: {error}")
                    send({"result": asdict(result)})
            finally:
                _leave_place(strategy, args.user)
                env.cleanup()
    except Exception as error:  # noqa: BLE001
        print(f"[worker {args.user}] {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        if not ready:
            send({"fatal": f"{type(error).__name__}: {error}"})
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.remote.worker",
                                     description="(internal) one worker of a parallel run")
    parser.add_argument("--coordinator", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--board", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--env-template", type=Path)
    parser.add_argument("--reservation-timeout", type=float, default=300.0)
    parser.add_argument("tags", nargs="+")
    return worker_main(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
