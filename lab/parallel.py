"""One run spread over several places, merged back into one run.

labgrid locks one place for one client; running a suite over several boards
at once, and keeping parallel workers of one user off each other's board, it
leaves to its users. This is the lab's way:

- a **job** is one boot: an experiment of the evaluation
  (``lab.evaluation.experiments``) or a scenario booted until given lines;
- the runner starts ``workers`` worker processes. Each has its own name at the
  coordinator (``LabClient.user``), **reserves** a place by tags
  (``labgrid-client reserve``: the coordinator gives each reservation a
  different free place and queues the rest), acquires it, and then takes jobs
  from one shared queue until it is empty; it powers the board off, releases
  the place and cancels its reservation at the end, also after a failure;
- the results come back to the runner, which merges them into one run
  (``run.json``: every job with its console log and the place it ran on, and
  each place's provenance) and, when the jobs are the evaluation's
  experiments, into one ``summary.json`` through the same ``sample_frame`` /
  ``build_summary`` as ``make lab``. Places whose provenance differs (board,
  timing, icount shift) are never merged into one summary: their figures are
  not the same unit.

Images are built once, by the runner, before any worker starts. On a
virtual-board place a worker selects images through the board's image slot
(``VirtualBoardStrategy``); on other places through the strategy of the
environment template given with ``--env-template``.

    python -m lab.parallel evaluate --boards 2          # loopback lab of 2 virtual boards
    python -m lab.parallel boot --boards 2 default irq-routing
    python -m lab.parallel evaluate --coordinator HOST:PORT --tags board=zc702 \\
        --workers 2 --env-template env/my-place.yaml   # places of a real lab
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from getpass import getuser
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BOARD = "qemu-vexpress-a9"
WORKER_STOP_TIMEOUT_S = 60.0

Progress = Callable[[str], None]


class ParallelRunError(Exception):
    """Jobs failed or were never run; the message says which and why."""


@dataclass(frozen=True)
class Job:
    name: str
    experiment: str | None = None  # an experiment of lab.evaluation.experiments
    scenario: str | None = None  # else: boot this OVM scenario ...
    until: tuple[str, ...] = ()  # ... and wait for these lines (regular expressions)
    timeout_s: float = 60.0
    image: str | None = None  # filled in by the runner's build

    @classmethod
    def boot(cls, scenario: str, until: Sequence[str] = (), name: str | None = None) -> "Job":
        return cls(name or scenario, scenario=scenario, until=tuple(until))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Job":
        return cls(**{**data, "until": tuple(data.get("until", ()))})


@dataclass
class JobResult:
    name: str
    place: str
    worker: str
    ok: bool
    error: str | None = None
    build: str | None = None  # the build id the image printed
    banner: dict[str, Any] | None = None
    lines: dict[str, dict[str, str]] = field(default_factory=dict)
    console: str = ""
    wall_s: float = 0.0


@dataclass
class ParallelRun:
    started_ns: int
    commit: str
    jobs: list[Job]
    places: dict[str, dict[str, Any]] = field(default_factory=dict)  # place -> worker, provenance
    results: dict[str, JobResult] = field(default_factory=dict)
    worker_errors: dict[str, str] = field(default_factory=dict)

    @property
    def failures(self) -> dict[str, str]:
        failed = {name: r.error or "failed" for name, r in self.results.items() if not r.ok}
        for job in self.jobs:
            if job.name not in self.results:
                failed[job.name] = "never run (no worker held a place long enough)"
        return failed

    def as_dict(self) -> dict[str, Any]:
        return {
            "started_ns": self.started_ns,
            "commit": self.commit,
            "places": self.places,
            "worker_errors": self.worker_errors,
            "jobs": [
                {**asdict(job), **{k: v for k, v in asdict(self.results[job.name]).items()
                                   if k not in ("name", "console")}}
                if job.name in self.results else {**asdict(job), "ok": False, "error": "never run"}
                for job in self.jobs
            ],
        }

    def write(self, out_dir: Path) -> Path:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, result in self.results.items():
            (out_dir / f"{name}.log").write_text(result.console)
        path = out_dir / "run.json"
        path.write_text(json.dumps(self.as_dict(), indent=2, sort_keys=True) + "\n")
        return path


# -- the runner ------------------------------------------------------------------------


def prepare(jobs: Sequence[Job], board: str, repo_root: Path) -> list[Job]:
    """Build every job's image once, before workers start (builds are not run concurrently)."""
    from lab.evaluation.experiments import LATENCY_ARGS, experiment
    from lab.firmware.build import build
    from lab.firmware.native import build_native

    names = [job.name for job in jobs]
    if len(set(names)) != len(names):
        raise ValueError(f"job names must be unique: {names}")
    prepared = []
    for job in jobs:
        if job.experiment:
            chosen = experiment(job.experiment)
            if chosen.native_program:
                image = build_native(board, chosen.native_program, LATENCY_ARGS, repo_root=repo_root).elf
            else:
                image = build(board, chosen.scenario, repo_root=repo_root).elf
        elif job.scenario:
            image = build(board, job.scenario, repo_root=repo_root).elf
        else:
            raise ValueError(f"job {job.name}: neither an experiment nor a scenario")
        prepared.append(Job(**{**asdict(job), "image": str(image)}))
    return prepared


def run_parallel(
    jobs: Sequence[Job],
    *,
    coordinator: str,
    tags: Mapping[str, str],
    workers: int,
    out_dir: Path,
    board: str = DEFAULT_BOARD,
    repo_root: Path = REPO_ROOT,
    env_template: Path | None = None,
    reservation_timeout_s: float = 300.0,
    progress: Progress = print,
) -> ParallelRun:
    """Spread ``jobs`` over ``workers`` places with ``tags``; the merged run (also on failure)."""
    from lab.provenance import git_commit

    started_ns = time.time_ns()
    prepared = prepare(jobs, board, repo_root)
    run = ParallelRun(started_ns, git_commit(repo_root), prepared)
    pending: queue.Queue[Job] = queue.Queue()
    for job in prepared:
        pending.put(job)
    lock = threading.Lock()
    processes: list[subprocess.Popen] = []
    run_tag = f"{os.getpid()}"
    finished = [threading.Event() for _ in range(workers)]

    def drive(i: int) -> None:
        try:
            _drive_worker(run, pending, lock, processes, f"{getuser()}-par{run_tag}-w{i + 1}",
                          coordinator, tags, out_dir, board, repo_root, env_template,
                          reservation_timeout_s, progress)
        finally:
            finished[i].set()

    progress(f"[parallel] {len(prepared)} jobs over {workers} places tagged "
             f"{' '.join(f'{k}={v}' for k, v in tags.items())} at {coordinator}")
    for i in range(workers):
        threading.Thread(target=drive, args=(i,), name=f"w{i + 1}", daemon=True).start()
    # Waiting on events, not Thread.join: in Python 3.11 a join interrupted by Ctrl-C
    # marks the thread finished, and a second join would not wait for it.
    try:
        _wait_all(finished)
    except KeyboardInterrupt:
        # Workers run in sessions of their own: stop them (they release their places).
        progress("[parallel] interrupted: stopping the workers, which release their places")
        while not pending.empty():
            pending.get_nowait()
        with lock:
            for process in processes:
                _signal_group(process.pid, signal.SIGTERM)
        _wait_all(finished)
        raise
    run.write(out_dir)
    return run


def _wait_all(events: list[threading.Event]) -> None:
    for event in events:
        while not event.wait(0.5):
            pass


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _drive_worker(run: ParallelRun, pending: queue.Queue, lock: threading.Lock,
                  processes: list[subprocess.Popen], user: str,
                  coordinator: str, tags: Mapping[str, str], out_dir: Path, board: str,
                  repo_root: Path, env_template: Path | None, reservation_timeout_s: float,
                  progress: Progress) -> None:
    log_dir = out_dir / "workers"
    log_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "lab.parallel", "worker", "--coordinator", coordinator,
               "--user", user, "--board", board, "--out", str(out_dir),
               "--reservation-timeout", str(reservation_timeout_s),
               *(["--env-template", str(env_template)] if env_template else []),
               *(f"{k}={v}" for k, v in tags.items())]
    with (log_dir / f"{user}.log").open("w") as log:
        with lock:
            worker = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=log, text=True, cwd=repo_root, start_new_session=True,
                                      bufsize=1)
            processes.append(worker)
    place = None
    try:
        hello = _receive(worker)
        if "ready" not in hello:
            raise RuntimeError(hello.get("fatal", "the worker stopped before holding a place"))
        place = hello["ready"]["place"]
        with lock:
            run.places[place] = {"worker": user, "provenance": hello["ready"]["provenance"], "jobs": []}
        progress(f"[parallel] {user} holds place {place}")
        while True:
            try:
                job = pending.get_nowait()
            except queue.Empty:
                break
            progress(f"[parallel] {job.name} on {place}")
            worker.stdin.write(json.dumps({"job": asdict(job)}) + "\n")
            worker.stdin.flush()
            reply = _receive(worker)
            if "result" not in reply:
                with lock:
                    run.results[job.name] = JobResult(job.name, place, user, False, reply.get(
                        "fatal", f"the worker died; see {log.name}"))
                raise RuntimeError(run.results[job.name].error)
            result = JobResult(**reply["result"])
            with lock:
                run.results[job.name] = result
                run.places[place]["jobs"].append(job.name)
            progress(f"[parallel] {job.name} on {place}: "
                     + (f"done in {result.wall_s:.1f} s" if result.ok else f"FAILED: {result.error}"))
    except Exception as error:  # noqa: BLE001 - the run goes on with the other workers
        with lock:
            run.worker_errors[user] = f"{error} (log: {log_dir / (user + '.log')})"
        progress(f"[parallel] {user}: {error}")
    finally:
        try:
            worker.stdin.close()  # no more jobs: the worker powers off, releases, cancels
        except OSError:
            pass
        try:
            worker.wait(WORKER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with lock:
                run.worker_errors[user] = (run.worker_errors.get(user, "") +
                                           " (did not stop: killed; its place may stay acquired)").strip()
        _signal_group(worker.pid, signal.SIGKILL)
        worker.wait()


def _receive(worker: subprocess.Popen) -> dict[str, Any]:
    line = worker.stdout.readline()
    if not line:
        return {"fatal": f"the worker exited (status {worker.wait()}) without answering"}
    return json.loads(line)


# -- merging into one evaluation -------------------------------------------------------------


def evaluation_jobs() -> list[Job]:
    from lab.evaluation.experiments import EXPERIMENTS

    return [Job(e.name, experiment=e.name, timeout_s=e.timeout_s) for e in EXPERIMENTS]


def merged_provenance(run: ParallelRun):
    """One provenance for the run, or an error when the places are not alike."""
    from lab.provenance import Provenance

    keys = ("board", "board_kind", "timing", "icount_shift")
    used = {name: info["provenance"] for name, info in run.places.items() if info["jobs"]}
    kinds = {tuple(p.get(k) for k in keys) for p in used.values()}
    if len(kinds) != 1:
        raise ParallelRunError("the places differ in " + ", ".join(keys) + ": " + "; ".join(
            f"{name}: {tuple(p.get(k) for k in keys)}" for name, p in sorted(used.items()))
            + " -- their figures cannot be merged into one summary")
    board, board_kind, timing, shift = kinds.pop()
    return Provenance(board=board, board_kind=board_kind, timing=timing, icount_shift=shift,
                      commit=run.commit)


def merged_evaluation(run: ParallelRun, *, repo_root: Path, out_dir: Path,
                      env_file: Path | None = None, linux: bool = True, progress: Progress = print):
    """The evaluation's ``EvaluationRun`` from a parallel run of its experiments.

    ``summary.json`` is what ``make lab`` writes, plus ``places``: which
    experiment ran on which place and each place's provenance. The Linux
    baseline (QEMU only) runs here, on this machine, as ``make lab`` runs it.
    """
    from lab import linux_baseline
    from lab.evaluation.experiments import EXPERIMENTS, ExperimentResult, experiment
    from lab.evaluation.measures import Timebase
    from lab.evaluation.run import EvaluationRun
    from lab.evaluation.samples import sample_frame, scalar_frame
    from lab.evaluation.summary import build_summary, table
    from lab.firmware.loader import load_board
    from lab.records import parse_records

    if run.failures:
        raise ParallelRunError("not merged, jobs failed: " + "; ".join(
            f"{name}: {why}" for name, why in run.failures.items()))
    missing = {e.name for e in EXPERIMENTS} - set(run.results)
    if missing:
        raise ParallelRunError(f"not an evaluation: experiments {sorted(missing)} were not run")
    provenance = merged_provenance(run)
    timebase = Timebase(load_board(repo_root / "ovm", provenance.board).private_timer_hz,
                        provenance.icount_shift)
    results = {}
    for e in EXPERIMENTS:
        r = run.results[e.name]
        results[e.name] = ExperimentResult(experiment(e.name), r.build, r.console,
                                           parse_records(r.console), r.lines, r.wall_s)
    linux_ns = linux_method = None
    if linux and provenance.board_kind == "qemu":
        progress("[parallel] linux: booting Debian's armmp kernel on QEMU, on this machine")
        baseline = linux_baseline.measure(provenance.icount_shift,
                                          env_file=env_file or repo_root / "env" / "qemu.yaml")
        (out_dir / "linux.log").write_text(baseline.console)
        linux_ns, linux_method = baseline.samples.to_numpy(), baseline.method
    samples, unpaired = sample_frame(results, timebase, linux_ns)
    scalars = scalar_frame(results, timebase, board=provenance.board, repo_root=repo_root)
    builds = {name: result.build for name, result in results.items()}
    summary = build_summary(samples, scalars, timebase, provenance, builds, unpaired, linux_method)
    summary["places"] = {
        "experiments": {name: run.results[name].place for name in results},
        "provenance": {name: info["provenance"] for name, info in run.places.items()},
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    progress("\n" + table(summary))
    return EvaluationRun(summary, samples, scalars, provenance, run.started_ns)


# -- the worker process ---------------------------------------------------------------------


def _place_provenance(strategy, place: str, client, env, repo_root: Path) -> dict:
    from lab.provenance import git_commit
    from lab.virtual_board import VirtualBoardStrategy

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
    from lab.evaluation.experiments import experiment, run_experiment

    started = time.monotonic()
    if job.experiment:
        def log(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

        done = run_experiment(experiment(job.experiment), strategy, board, repo_root,
                              out_dir / "workers" / "logs", log)
        return JobResult(job.name, place, user, True, build=done.build, console=done.console,
                         lines=done.lines, wall_s=done.wall_s)
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
    from lab.virtual_board import VirtualBoardStrategy

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

    from labgrid import Environment

    from lab.coordination import LabClient, client_env, holding, parse_tags, write_yaml

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
            place = reservation.place
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


# -- command line ------------------------------------------------------------------------------


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
            sub.add_argument("--store", type=Path, default=REPO_ROOT / "reports" / "store" /
                             "results.sqlite", help="the local result store that keeps the run "
                             "(make lab's by default)")
            sub.add_argument("--no-store", action="store_true", help="do not keep the run")
        else:
            sub.add_argument("scenarios", nargs="+")
    worker = commands.add_parser("worker", help="(internal) one worker of a run")
    worker.add_argument("--coordinator", required=True)
    worker.add_argument("--user", required=True)
    worker.add_argument("--board", required=True)
    worker.add_argument("--out", type=Path, required=True)
    worker.add_argument("--env-template", type=Path)
    worker.add_argument("--reservation-timeout", type=float, default=300.0)
    worker.add_argument("tags", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "worker":
        return worker_main(args)

    from lab.coordination import parse_tags

    def interrupted(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)  # like Ctrl-C: workers release, the lab stops
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
            return 1
        if args.command == "evaluate":
            evaluation = merged_evaluation(run, repo_root=REPO_ROOT, out_dir=args.out,
                                           linux=not args.no_linux)
            print(f"[parallel] summary: {args.out / 'summary.json'}")
            if not args.no_store:
                from lab.results.pipeline import keep_run
                from lab.results.store import ResultStore

                keep_run(evaluation, "parallel", ResultStore(args.store), args.out)
        return 0

    try:
        if args.coordinator:
            return spread(args.coordinator)
        from lab.firmware.build import build
        from lab.loopback import LoopbackLab

        image = build(args.board, "default", repo_root=REPO_ROOT).elf
        with LoopbackLab(args.out / "loopback", image, boards=args.boards,
                         tags=parse_tags(args.tags)) as lab:
            print(f"[parallel] loopback lab: coordinator {lab.coordinator}, places "
                  f"{', '.join(lab.place_names)} (virtual boards: QEMU, for testing the lab)")
            return spread(lab.coordinator)
    except KeyboardInterrupt:
        print("[parallel] interrupted; the places were released", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
