"""The runner: spread jobs over places, one worker process per place, and collect the results.

labgrid locks one place for one client; running a suite over several boards
at once, and keeping parallel workers of one user off each other's board, it
leaves to its users. The runner starts ``workers`` worker processes
(``lab.remote.worker``). Each has its own name at the coordinator, reserves a
place by tags (the coordinator gives each reservation a different free place
and queues the rest), acquires it, and takes jobs from one shared queue until
it is empty; it powers the board off, releases the place and cancels its
reservation at the end, also after a failure. The results come back as one
``ParallelRun`` (``run.json``: every job with its console log and the place it
ran on, and each place's provenance).

A worker that dies (killed, crashed) leaves its place acquired and its
reservation allocated, as any dead labgrid client does. The runner, its
parent, knows it is dead: it cancels the worker's reservation and kicks it
off its place at once, holds that place aside itself until the run ends (the
board may be why the worker died), and puts the job the worker was running
back in the queue, once, for another worker (a new one if none is left), so
on another healthy place; the run says so.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from getpass import getuser
from pathlib import Path
from typing import IO, Any

from lab.paths import REPO_ROOT
from lab.target.provenance import git_commit

from .coordination import ClientError, LabClient
from .jobs import Job, JobResult, ParallelRun, Progress, prepare

DEFAULT_BOARD = "qemu-vexpress-a9"
WORKER_STOP_TIMEOUT_S = 60.0


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
    started_ns = time.time_ns()
    prepared = prepare(jobs, board, repo_root)
    run = ParallelRun(started_ns, git_commit(repo_root), prepared)
    pending: queue.Queue[Job] = queue.Queue()
    for job in prepared:
        pending.put(job)
    lock = threading.Lock()
    processes: list[subprocess.Popen] = []
    run_tag = f"{os.getpid()}"
    finished: list[threading.Event] = []
    retried: set[str] = set()
    aside = LabClient(coordinator, user=f"{getuser()}-par{run_tag}-aside")

    def drive(i: int, done: threading.Event) -> None:
        try:
            _drive_worker(run, pending, lock, processes, f"{getuser()}-par{run_tag}-w{i + 1}",
                          coordinator, tags, out_dir, board, repo_root, env_template,
                          reservation_timeout_s, progress, retry, aside)
        finally:
            done.set()

    def start_worker() -> None:
        done = threading.Event()
        finished.append(done)
        i = len(finished) - 1
        threading.Thread(target=drive, args=(i, done), name=f"w{i + 1}", daemon=True).start()

    def retry(job: Job, user: str, place: str) -> bool:
        """The job's worker died: run the job again elsewhere, once. False: not again."""
        with lock:
            if job.name in retried:
                return False
            retried.add(job.name)
            pending.put(job)
            others = sum(not done.is_set() for done in finished) - 1  # the dying one's is not set
            if others <= 0:
                start_worker()
        progress(f"[parallel] {job.name}: its worker {user} died on {place}; retrying it once "
                 f"on another place" + ("" if others > 0 else " (a new worker)"))
        return True

    progress(f"[parallel] {len(prepared)} jobs over {workers} places tagged "
             f"{' '.join(f'{k}={v}' for k, v in tags.items())} at {coordinator}")
    with lock:
        for _ in range(workers):
            start_worker()
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
    finally:
        _release_aside(aside, progress)
    run.write(out_dir)
    return run


def _release_aside(aside: LabClient, progress: Progress) -> None:
    try:
        for name, info in aside.all_places().items():
            if info.acquired and info.acquired.endswith(f"/{aside.user}"):
                aside.release(name)
                progress(f"[parallel] place {name}: no longer held aside")
    except ClientError as error:
        progress(f"[parallel] places held aside not released: {error}")


def _wait_all(events: list[threading.Event]) -> None:
    """Until every event is set, also those added meanwhile (a retry's new worker)."""
    i = 0
    while i < len(events):
        while not events[i].wait(0.5):
            pass
        i += 1


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _drive_worker(run: ParallelRun, pending: queue.Queue, lock: threading.Lock,
                  processes: list[subprocess.Popen], user: str,
                  coordinator: str, tags: Mapping[str, str], out_dir: Path, board: str,
                  repo_root: Path, env_template: Path | None, reservation_timeout_s: float,
                  progress: Progress, retry: Callable[[Job, str, str], bool],
                  aside: LabClient) -> None:
    log_dir = out_dir / "workers"
    log_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "lab.remote.worker", "--coordinator", coordinator,
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
    requests, replies = worker.stdin, worker.stdout
    assert requests is not None and replies is not None  # Popen(stdin=PIPE, stdout=PIPE)
    place = None
    try:
        hello = _receive(worker, replies)
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
            requests.write(json.dumps({"job": asdict(job)}) + "\n")
            requests.flush()
            reply = _receive(worker, replies)
            if "result" not in reply:
                why = reply.get("fatal", f"the worker died; see {log.name}")
                _free_dead_worker(worker, aside, user, progress)
                if not retry(job, user, place):
                    with lock:
                        run.results[job.name] = JobResult(job.name, place, user, False,
                                                          f"{why} (and when retried once)")
                raise RuntimeError(why)
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
            requests.close()  # no more jobs: the worker powers off, releases, cancels
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


def _free_dead_worker(worker: subprocess.Popen, aside: LabClient, user: str,
                      progress: Progress) -> None:
    """Cancel a dead worker's reservations, kick it off its place (it cannot release
    them) and hold the place aside (``aside``) so that its job is retried elsewhere."""
    _signal_group(worker.pid, signal.SIGKILL)  # what is left of it
    worker.wait()
    try:
        for token, reservation in aside.reservations().items():
            if reservation.owner.endswith(f"/{user}"):
                aside.cancel(token)
        for name, info in aside.all_places().items():
            if info.acquired and info.acquired.endswith(f"/{user}"):
                aside.kick(name)
                aside.acquire(name)
                progress(f"[parallel] place {name}: taken from the dead worker {user} and "
                         "held aside until the run ends")
    except ClientError as error:
        progress(f"[parallel] the dead worker {user}'s place not freed: {error}")


def _receive(worker: subprocess.Popen[str], replies: IO[str]) -> dict[str, Any]:
    line = replies.readline()
    if not line:
        return {"fatal": f"the worker exited (status {worker.wait()}) without answering"}
    return json.loads(line)
