"""Board health: boot OVM before trusting a place with a run; tag out a board that keeps failing.

In the manner of LAVA's health checks: a place's health check is a boot of
the environment's own image (the ``default`` scenario) through the target's
strategy, to OVM's banner within the strategy's ``boot_timeout``, with every
core up. Each check is counted per place in a ledger (``reports/store/health/health.json``):
a pass resets the count of consecutive failures, a failure adds one and keeps
the console log (``reports/store/health/<place>/<time>-fail.log``; of the passes,
the last one's) and the reason.
After ``threshold`` failures in a row (3 by default) the place is **tagged
out**: marked ``bad`` in the ledger and, on a labgrid coordinator, tagged
``health=bad`` with the reason and the log's path as its comment. Reservations
ask for ``health=good`` (``lab.placement``), so no run is handed a tagged-out
board any more, instead of every test after it failing. A board stays out
until someone looks at it and puts it back::

    python -m lab.health status
    python -m lab.health check --lg-env env/zc702-remote.yaml --place zc702-1   # acquires it, boots it
    python -m lab.health restore zc702-1 [--coordinator HOST:PORT]               # health=good again
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .coordination import LabClient
    from .placement import Placement

REPO_ROOT = Path(__file__).resolve().parent.parent
HEALTH_DIR = REPO_ROOT / "reports" / "store" / "health"  # beside the result store, untracked
DEFAULT_THRESHOLD = 3
HISTORY = 20  # checks kept per place in the ledger


@dataclass(frozen=True)
class CheckResult:
    place: str
    ok: bool
    reason: str  # "" when it passed
    log: Path | None  # the console log kept for this check
    seconds: float
    consecutive_failures: int
    tagged_out: bool  # this check put the place out of the pool

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["log"] = str(self.log) if self.log else None
        return values


class HealthLedger:
    """Per-place health, in one JSON file shared by every run on this machine."""

    def __init__(self, path: Path = HEALTH_DIR / "health.json") -> None:
        self.path = Path(path)

    @contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        """The ledger's content, read and written back under an exclusive lock."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self._read()
            yield data
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
            os.replace(temporary, self.path)

    def _read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"places": {}}
        return json.loads(self.path.read_text())

    def places(self) -> dict[str, dict[str, Any]]:
        return self._read()["places"]

    def entry(self, place: str) -> dict[str, Any]:
        return self.places().get(place) or _new_entry()

    def record(self, place: str, ok: bool, reason: str, log: Path | None) -> dict[str, Any]:
        """Count one check; the place's entry after it."""
        with self._locked() as data:
            entry = data["places"].setdefault(place, _new_entry())
            now = _now()
            entry["checks"] += 1
            entry["last_check"] = now
            entry["consecutive_failures"] = 0 if ok else entry["consecutive_failures"] + 1
            if not ok:
                entry["last_failure"] = {"at": now, "reason": reason, "log": str(log) if log else None}
            entry["history"] = (entry["history"] + [
                {"at": now, "ok": ok, "reason": reason, "log": str(log) if log else None}])[-HISTORY:]
            return dict(entry)

    def set_status(self, place: str, status: str, reason: str = "") -> None:
        with self._locked() as data:
            entry = data["places"].setdefault(place, _new_entry())
            entry["status"] = status
            entry["status_reason"] = reason
            entry["status_since"] = _now()
            if status == "good":
                entry["consecutive_failures"] = 0


def _new_entry() -> dict[str, Any]:
    return {"status": "good", "status_reason": "", "status_since": None, "checks": 0,
            "consecutive_failures": 0, "last_check": None, "last_failure": None, "history": []}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Tagger(Protocol):
    """Takes a place out of the pool, or puts it back."""

    def tag_out(self, place: str, reason: str) -> None: ...

    def tag_in(self, place: str) -> None: ...


class LedgerOnly:
    """No coordinator: the ledger's ``status`` is the only mark."""

    def tag_out(self, place: str, reason: str) -> None:
        pass

    def tag_in(self, place: str) -> None:
        pass


class CoordinatorTags:
    """Tags on the labgrid coordinator: ``health=bad`` / ``health=good`` and the comment."""

    def __init__(self, client: LabClient) -> None:
        self.client = client

    def tag_out(self, place: str, reason: str) -> None:
        self.client.set_tags(place, {"health": "bad"})
        self.client.set_comment(place, f"tagged out by lab.health {_now()}: {reason}")

    def tag_in(self, place: str) -> None:
        self.client.set_tags(place, {"health": "good"})
        self.client.set_comment(place, "")


def boot_check(strategy) -> tuple[bool, str, str]:
    """Boot the environment's own image through ``strategy``: (passed, reason, console log).

    Leaves the target powered off.
    """
    from labgrid.strategy import StrategyError

    from .console import ConsoleTimeout

    ok, reason, console = False, "", ""
    try:
        strategy.select_image(None)
        strategy.transition("ovm")
        banner = strategy.banner
        console = strategy.transcript.text if strategy.transcript else ""
        if banner.cores_up != banner.cores:
            reason = f"OVM came up with {banner.cores_up} of {banner.cores} cores"
        else:
            ok = True
    except (StrategyError, ConsoleTimeout) as failure:
        cause = failure.__cause__ or failure
        reason = _first_line(cause)
        console = getattr(strategy, "console_log", "") or (
            strategy.transcript.text if strategy.transcript else str(cause))
    finally:
        try:
            strategy.transition("off")
        except StrategyError:
            pass  # a failed boot already switched the board off
    return ok, reason, console


def check_place(
    env_file: Path,
    place: str,
    *,
    ledger: HealthLedger | None = None,
    tagger: Tagger | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    log_dir: Path = HEALTH_DIR,
) -> CheckResult:
    """One health check of ``place`` through ``env_file``'s target ``main``; counted and acted on."""
    from labgrid import Environment

    ledger = ledger or HealthLedger(log_dir / "health.json")
    tagger = tagger or LedgerOnly()
    started = time.monotonic()
    env = None
    try:
        env = Environment(str(env_file))
        strategy = env.get_target("main").get_driver("OVMStrategy")
        ok, reason, console = boot_check(strategy)
    except Exception as error:  # the place itself is unusable: resources gone, bad config
        ok, reason, console = False, f"target unusable: {_first_line(error)}", str(error)
    finally:
        if env is not None:
            env.cleanup()
    seconds = time.monotonic() - started

    # Every failure's log is kept; of the passes, the last one.
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    log = log_dir / place / (f"{stamp}-fail.log" if not ok else "last-pass.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"# health check of {place} with {env_file}: "
                   f"{'pass' if ok else 'FAIL: ' + reason}\n{console}")
    entry = ledger.record(place, ok, reason, log)
    tagged_out = False
    if not ok and entry["consecutive_failures"] >= threshold and entry["status"] != "bad":
        why = (f"{entry['consecutive_failures']} health checks failed in a row; "
               f"last: {reason} (log {log})")
        tagger.tag_out(place, why)
        ledger.set_status(place, "bad", why)
        tagged_out = True
    return CheckResult(place, ok, reason, log, seconds, entry["consecutive_failures"], tagged_out)


def restore(place: str, *, ledger: HealthLedger | None = None, tagger: Tagger | None = None) -> None:
    """Put a place back in the pool (after someone fixed the board)."""
    (tagger or LedgerOnly()).tag_in(place)
    (ledger or HealthLedger()).set_status(place, "good", "restored by hand")


def placement_health_check(*, threshold: int = DEFAULT_THRESHOLD, log_dir: Path = HEALTH_DIR):
    """A ``health_check`` for ``lab.placement.choose_environment``: checks the
    place just acquired, tags it out on the coordinator after ``threshold``."""

    def check(placement: Placement) -> tuple[bool, str]:
        with placement.in_environ():
            result = check_place(placement.env_file, placement.place, threshold=threshold,
                                 log_dir=log_dir, tagger=CoordinatorTags(placement.client))
        if result.ok:
            return True, ""
        out = "; tagged out" if result.tagged_out else ""
        return False, (f"{result.reason} ({result.consecutive_failures} in a row{out}; "
                       f"log {result.log})")

    return check


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def main(argv: list[str] | None = None) -> int:
    from .coordination import LabClient
    from .placement import PlacementError, placed, remote_spec

    parser = argparse.ArgumentParser(prog="python -m lab.health", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=HEALTH_DIR,
                        help="where the ledger and the kept console logs are")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="each place's health")
    check = commands.add_parser("check", help="acquire a place, boot it, count the result")
    check.add_argument("--lg-env", type=Path, default=REPO_ROOT / "env" / "zc702-remote.yaml")
    check.add_argument("--place", help="the place (else any with the environment's tags)")
    check.add_argument("--coordinator", metavar="HOST:PORT")
    check.add_argument("--threshold", type=int, default=DEFAULT_THRESHOLD)
    check.add_argument("--acquire-timeout", type=float, default=60.0)
    back = commands.add_parser("restore", help="put a place back in the pool")
    back.add_argument("place")
    back.add_argument("--coordinator", metavar="HOST:PORT")
    args = parser.parse_args(argv)
    ledger = HealthLedger(args.dir / "health.json")

    if args.command == "status":
        places = ledger.places()
        if not places:
            print(f"no health checks recorded in {ledger.path}")
        for name, entry in sorted(places.items()):
            last = entry.get("last_failure") or {}
            print(f"{name:<20} {entry['status']:<5} checks={entry['checks']} "
                  f"failing={entry['consecutive_failures']} last check {entry['last_check']}"
                  + (f"\n{'':<20} last failure {last.get('at')}: {last.get('reason')}\n"
                     f"{'':<20} log {last.get('log')}" if last else "")
                  + (f"\n{'':<20} out since {entry['status_since']}: {entry['status_reason']}"
                     if entry["status"] == "bad" else ""))
        return 0

    if args.command == "restore":
        spec_address = args.coordinator or os.environ.get("LG_COORDINATOR")
        tagger = CoordinatorTags(LabClient(spec_address)) if spec_address else LedgerOnly()
        restore(args.place, ledger=ledger, tagger=tagger)
        print(f"{args.place}: back in the pool (health=good)")
        return 0

    if args.place:
        os.environ["LG_PLACE"] = args.place
    spec = remote_spec(args.lg_env, args.coordinator)
    try:
        with placed(args.lg_env, acquire_timeout=args.acquire_timeout,
                    coordinator=args.coordinator, include_tagged_out=True) as placement:
            tagger = CoordinatorTags(placement.client) if spec and placement.client else LedgerOnly()
            result = check_place(placement.env_file, placement.place or args.lg_env.stem,
                                 ledger=ledger, tagger=tagger, threshold=args.threshold,
                                 log_dir=args.dir)
    except PlacementError as error:
        print(f"[health] {error}", file=sys.stderr)
        return 2
    print(f"[health] {result.place}: {'pass' if result.ok else 'FAIL: ' + result.reason} "
          f"in {result.seconds:.1f} s; {result.consecutive_failures} failure(s) in a row"
          + ("; TAGGED OUT" if result.tagged_out else "") + f"; log {result.log}")
    if result.ok and ledger.entry(result.place)["status"] == "bad":
        print(f"[health] {result.place} is still tagged out; put it back with "
              f"python -m lab.health restore {result.place}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
