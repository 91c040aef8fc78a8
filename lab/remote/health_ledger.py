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
ask for ``health=good`` (``lab.remote.placement``), so no run is handed a tagged-out
board any more, instead of every test after it failing. A board stays out
until someone looks at it and puts it back::

    python -m lab.health status
    python -m lab.health check --lg-env env/zc702-remote.yaml --place zc702-1   # acquires it, boots it
    python -m lab.health restore zc702-1 [--coordinator HOST:PORT]               # health=good again
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from lab.paths import STORE_DIR

from .coordination import ClientError

if TYPE_CHECKING:
    from .coordination import LabClient
    from .placement import Placement

HEALTH_DIR = STORE_DIR / "health"  # beside the result store, untracked
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

    def record(self, place: str, ok: bool, reason: str, log: Path | None,
               kind: str = "check") -> dict[str, Any]:
        """Count one check (or a run: ``kind``); the place's entry after it."""
        with self._locked() as data:
            entry = data["places"].setdefault(place, _new_entry())
            now = _now()
            entry["checks"] += 1
            entry["last_check"] = now
            entry["consecutive_failures"] = 0 if ok else entry["consecutive_failures"] + 1
            if not ok:
                entry["last_failure"] = {"at": now, "reason": reason, "log": str(log) if log else None}
            entry["history"] = (entry["history"] + [
                {"at": now, "kind": kind, "ok": ok, "reason": reason,
                 "log": str(log) if log else None}])[-HISTORY:]
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
        self.client.set_comment(place, f"tagged out by lab.remote.health_ledger {_now()}: {reason}")

    def tag_in(self, place: str) -> None:
        self.client.set_tags(place, {"health": "good"})
        self.client.set_comment(place, "")


def boot_check(strategy) -> tuple[bool, str, str]:
    """Boot the environment's own image through ``strategy``: (passed, reason, console log).

    Leaves the target powered off.
    """
    from labgrid.strategy import StrategyError

    from lab.target.transcript import ConsoleTimeout

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
    return count(place, ok, reason, log, ledger=ledger, tagger=tagger, threshold=threshold,
                 seconds=seconds)


def count(place: str, ok: bool, reason: str, log: Path | None, *, ledger: HealthLedger,
          tagger: Tagger, threshold: int = DEFAULT_THRESHOLD, seconds: float = 0.0,
          kind: str = "check") -> CheckResult:
    """Count a health check's or a run's outcome; tag the place out after ``threshold``
    failures in a row, whatever failed (a check, a run's console, power, exporter)."""
    entry = ledger.record(place, ok, reason, log, kind)
    tagged_out = False
    if not ok and entry["consecutive_failures"] >= threshold and entry["status"] != "bad":
        what = "health checks" if kind == "check" else "runs and health checks"
        why = (f"{entry['consecutive_failures']} {what} failed in a row; "
               f"last ({kind}): {reason} (log {log})")
        tagger.tag_out(place, why)
        ledger.set_status(place, "bad", why)
        tagged_out = True
    return CheckResult(place, ok, reason, log, seconds, entry["consecutive_failures"], tagged_out)


def reapply_tags(client: LabClient, ledger: HealthLedger, *, log_errors: bool = True) -> list[str]:
    """Tag ``health=bad`` on the coordinator every place the ledger has out, where the
    coordinator forgot it (it restarted from a places.yaml saved before the tag: labgrid
    saves every 15 s). Only this way round: the coordinator's tags never change the ledger,
    and a place is put back only by ``restore``. What was re-applied, one line each."""
    done: list[str] = []
    out = {name: entry for name, entry in ledger.places().items() if entry["status"] == "bad"}
    if not out:
        return done
    try:
        places = client.all_places(timeout=10.0)
        for name, entry in out.items():
            info = places.get(name)
            if info is not None and info.tags.get("health") != "bad":
                CoordinatorTags(client).tag_out(name, entry["status_reason"])
                done.append(f"place {name}: health=bad re-applied from the ledger "
                            f"({entry['status_reason']})")
    except ClientError as error:
        if log_errors:
            done.append(f"health tags not re-applied: {error}")
    return done


@contextmanager
def run_counted(placement: Placement, ledger: HealthLedger, *, log: Path | None = None,
                threshold: int = DEFAULT_THRESHOLD, say=print) -> Iterator[None]:
    """Count the run in the block against its place: a ``RunFailed`` (a console silent past
    its deadline, QEMU or the board gone, the exporter gone) as a failure with its reason,
    a run that completes as a pass. A lost place or a stop by signal counts nothing: they
    say nothing of the board."""
    from lab.results.outputs import RunFailed

    from .faults import PlaceLost

    if placement.place is None or placement.client is None:
        yield
        return
    tagger = CoordinatorTags(placement.client)
    try:
        yield
    except RunFailed as failed:
        # A fault of the place may reach the run wrapped (labgrid's strategy wraps what
        # interrupts it): the place's own record of it is the one that counts.
        fault = placement.fault or failed
        if isinstance(fault, PlaceLost):
            raise fault from failed
        reason = _first_line(fault)
        try:
            result = count(placement.place, False, reason, log, ledger=ledger, tagger=tagger,
                           threshold=threshold, kind="run")
            say(f"[lab] place {placement.place}: failure counted in the health ledger "
                f"({result.consecutive_failures} in a row"
                + ("; TAGGED OUT: health=bad" if result.tagged_out else "") + f"): {reason}")
        except ClientError as error:
            say(f"[lab] place {placement.place}: failure counted, not tagged: {error}")
        raise
    count(placement.place, True, "", log, ledger=ledger, tagger=tagger, threshold=threshold,
          kind="run")


def restore(place: str, *, ledger: HealthLedger | None = None, tagger: Tagger | None = None) -> None:
    """Put a place back in the pool (after someone fixed the board)."""
    (tagger or LedgerOnly()).tag_in(place)
    (ledger or HealthLedger()).set_status(place, "good", "restored by hand")


def placement_health_check(*, threshold: int = DEFAULT_THRESHOLD, log_dir: Path = HEALTH_DIR):
    """A ``health_check`` for ``lab.remote.placement.choose_environment``: checks the
    place just acquired, tags it out on the coordinator after ``threshold``."""

    def check(placement: Placement) -> tuple[bool, str]:
        if placement.place is None or placement.client is None:
            return False, "not a place of a labgrid coordinator: nothing to check"
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
