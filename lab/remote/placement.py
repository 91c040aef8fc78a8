"""Where a run goes: a ZC702 place from the lab's coordinator, or QEMU when none comes.

``choose_environment(env_file, ...)`` (or ``with placed(env_file, ...)``, which
also sets ``LG_PLACE`` and ``LG_COORDINATOR`` and releases at the end) looks at
the requested labgrid environment. A local one (``env/qemu.yaml``) is used as
it is. One whose target is a labgrid ``RemotePlace`` (``env/zc702-remote.yaml``)
needs a place acquired on the coordinator first:

- with ``LG_PLACE`` naming a place, that place is acquired (retried while
  another user holds it; a place tagged ``health=bad`` is refused);
- otherwise a reservation is made for the environment's
  ``options.ovm_place_tags`` (``board=zc702 health=good``): the coordinator
  allocates a free place with those tags — so a place tagged out by
  ``lab.remote.health_ledger`` is never handed out — and it is acquired.

Both wait at most ``acquire_timeout`` seconds, retrying while the coordinator
is unreachable. When no place comes, the run either fails
(``PlacementError``) or, with ``fallback_qemu``, falls back to
``env/qemu.yaml``: the fallback is logged with its reason, and since results
take ``board_kind`` from the environment actually used, every result of the
run says ``board_kind=qemu``. When the run ends the reservation is cancelled
and then the place released (``lab.remote.coordination.holding``: in that order the
next waiting client is served at once).

A command takes these choices as options with ``add_placement_arguments`` and
runs its work inside ``with placed_from_args(env_file, args)`` (``lab.nightly``,
this module's command).

With a ``health_check`` (``lab.remote.health_ledger``), a place acquired is booted first; one
that fails is held aside, so that the coordinator offers another, and released
when the search ends.

The coordinator is ``--coordinator``, else ``LG_COORDINATOR``, else the
environment's ``options.coordinator_address``, else labgrid's default
``127.0.0.1:20408``. Everything goes through ``labgrid-client``
(``lab.remote.coordination.LabClient``).

As a command, it holds a place while another command runs::

    python -m lab.remote.placement --lg-env env/zc702-remote.yaml --fallback-qemu \\
        --acquire-timeout 60 -- make nightly LG_ENV={env}

``{env}`` is replaced by the environment chosen; the command also gets
``LG_PLACE``, ``LG_COORDINATOR`` (and ``LG_TOKEN``) in its environment.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

import yaml

from lab import exits
from lab.paths import LAB_ENV, QEMU_ENV, default_lg_env, shown

from .coordination import (
    ClientError,
    LabClient,
    NotAllocated,
    PlaceInfo,
    call_timeout,
    format_tags,
    holding,
    parse_tags,
)
from .faults import PlaceFault, PlaceLost
from .health_ledger import HEALTH_DIR, HealthLedger, reapply_tags
from .lease import DEFAULT_TTL_S, LeaseKeeper, LeaseWatch, matching, recover

DEFAULT_COORDINATOR = "127.0.0.1:20408"
DEFAULT_PLACE_TAGS = "board=zc702 health=good"
RETRY_S = 1.0  # between attempts while the coordinator is unreachable or a place busy
POWER_OFF_TIMEOUT_S = 20.0

Log = Callable[[str], None]


def _log_to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class PlacementError(Exception):
    """No place for the run, and no fallback allowed; the message says why."""


class PlaceRefused(Exception):
    """The place asked for by name is not to be used (tagged out); not worth waiting for."""


@dataclass(frozen=True)
class RemoteSpec:
    """What a RemotePlace environment asks for."""

    place: str | None  # a fixed place name, or None: any place with ``tags``
    tags: Mapping[str, str]
    coordinator: str


def _load_env_yaml(env_file: Path) -> dict:
    from labgrid.util.yaml import load

    try:
        with open(env_file) as stream:
            data = load(stream) or {}
    except OSError as error:
        raise PlacementError(f"labgrid environment {env_file}: {error.strerror} "
                             "(--lg-env, or the LG_ENV variable)") from error
    except yaml.YAMLError as error:
        raise PlacementError(f"labgrid environment {env_file}: not YAML ({error})") from error
    if not isinstance(data, dict):
        raise PlacementError(f"labgrid environment {env_file}: expected a mapping at the top")
    return data


def env_features(env_file: Path) -> set[str]:
    main = (_load_env_yaml(env_file).get("targets") or {}).get("main") or {}
    return {str(feature) for feature in main.get("features") or []}


def remote_spec(env_file: Path, coordinator: str | None = None) -> RemoteSpec | None:
    """The ``RemotePlace`` of target ``main`` in ``env_file``, or None for a local environment."""
    from labgrid.factory import target_factory

    data = _load_env_yaml(env_file)
    main = (data.get("targets") or {}).get("main") or {}
    resources, _ = target_factory.normalize_config(
        {"resources": main.get("resources") or {}, "drivers": {}})
    if "RemotePlace" not in resources:
        return None
    name = next(iter(resources["RemotePlace"]))  # labgrid keys a resource by its name
    if isinstance(name, Template):  # !template $LG_PLACE: from the environment, if set
        name = name.safe_substitute({k: v for k, v in os.environ.items() if k.startswith("LG_")})
        name = None if "$" in name else name
    options = data.get("options") or {}
    address = (coordinator or os.environ.get("LG_COORDINATOR")
               or (str(options["coordinator_address"]) if options.get("coordinator_address") else None)
               or DEFAULT_COORDINATOR)
    return RemoteSpec(place=str(name) if name else None,
                      tags=parse_tags(str(options.get("ovm_place_tags") or DEFAULT_PLACE_TAGS).split()),
                      coordinator=address)


@dataclass
class Placement:
    """The environment a run uses, and why."""

    requested_env: Path
    env_file: Path
    board_kind: str  # "zc702" or "qemu": what the results will say
    fallback: bool
    reason: str
    place: str | None = None
    coordinator: str | None = None
    token: str | None = None
    waited_s: float = 0.0
    client: LabClient | None = field(default=None, repr=False)
    held: ExitStack | None = field(default=None, repr=False)  # what ``release`` gives back
    keeper: LeaseKeeper | None = field(default=None, repr=False)
    fault: PlaceFault | None = None  # the place failed under the run (``lab.remote.faults``)
    _armed: bool = field(default=False, repr=False)

    def keep_lease(self, ttl: float) -> None:
        """Keep a lease on the place held (``lab.remote.lease``) until it is released."""
        if self.client is None or self.place is None:
            return
        keeper = LeaseKeeper(self.client, self.place, ttl=ttl, on_fault=self._on_fault)
        keeper.start()
        self.keeper = keeper

    def _on_fault(self, fault: PlaceFault) -> None:
        self.fault = fault
        if self._armed:  # the main thread stops what it waits for and unwinds with the fault
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGUSR1)

    def check_held(self) -> None:
        """Raise the place's fault, if it had one: nothing of the run may be kept then."""
        if self.fault is not None:
            raise self.fault

    @contextmanager
    def faults_raised(self) -> Iterator[None]:
        """Within the block, a fault of the place (lost, exporter gone) is raised in the
        main thread at once, wherever it waits, as ``PlaceFault``."""
        if threading.current_thread() is not threading.main_thread() or self.keeper is None:
            yield
            return

        def raise_fault(signum: int, frame: object) -> None:  # noqa: ARG001
            self._armed = False  # once
            self.check_held()

        previous = signal.signal(signal.SIGUSR1, raise_fault)
        self._armed = True
        try:
            self.check_held()
            yield
        finally:
            self._armed = False
            signal.signal(signal.SIGUSR1, previous)

    def environ(self) -> dict[str, str]:
        """What a labgrid process needs to open ``env_file`` on this place."""
        if self.place is None:
            return {}
        values = {"LG_PLACE": self.place, "LG_COORDINATOR": str(self.coordinator)}
        if self.token:
            values["LG_TOKEN"] = self.token
        return values

    @contextmanager
    def in_environ(self) -> Iterator[None]:
        """``environ()`` set in ``os.environ`` for the duration of a ``with``; as it was after."""
        saved = {key: os.environ.get(key) for key in self.environ()}
        os.environ.update(self.environ())
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def as_dict(self) -> dict[str, Any]:
        return {
            "requested_env": _shown(self.requested_env),
            "env": _shown(self.env_file),
            "board_kind": self.board_kind,
            "fallback": self.fallback,
            "reason": self.reason,
            "place": self.place,
            "coordinator": self.coordinator,
            "waited_s": round(self.waited_s, 1),
        }

    def release(self) -> None:
        """Give the place back (once), the board powered off: the lease removed, the
        board switched off, then as ``holding`` does, the reservation cancelled before
        the place is released, so that the next waiting client is served at once.
        A place lost to a fault is not touched (it is no longer this client's)."""
        held, self.held = self.held, None
        keeper, self.keeper = self.keeper, None
        if keeper is not None:
            keeper.stop()
        if held is None:
            return
        if (not isinstance(self.fault, PlaceLost) and self.client is not None
                and self.place is not None):
            try:
                self.client.power(self.place, "off", timeout=POWER_OFF_TIMEOUT_S)
            except ClientError as error:  # no power switch, or gone: released all the same
                print(f"[lab] place {self.place}: power off failed: {_last_line(error.output)}",
                      file=sys.stderr, flush=True)
        try:
            held.close()
        except ClientError as error:
            print(f"[lab] place {self.place}: release: {_last_line(error.output)}",
                  file=sys.stderr, flush=True)


def _shown(path: Path) -> str:
    return str(shown(Path(path).resolve()))


HealthCheck = Callable[[Placement], "tuple[bool, str]"]


def choose_environment(
    env_file: Path,
    *,
    fallback_qemu: bool = False,
    acquire_timeout: float = 60.0,
    coordinator: str | None = None,
    qemu_env: Path = QEMU_ENV,
    health_check: HealthCheck | None = None,
    include_tagged_out: bool = False,
    lease_ttl: float = DEFAULT_TTL_S,
    ledger: HealthLedger | None = None,
    log: Log = _log_to_stderr,
) -> Placement:
    """Acquire what ``env_file`` needs, or fall back to ``qemu_env`` (see the module doc)."""
    env_file = Path(env_file)
    spec = remote_spec(env_file, coordinator)
    if spec is None:
        return Placement(env_file, env_file, board_kind(env_file), False,
                         "a local environment: nothing to acquire")

    client = LabClient(spec.coordinator)
    # The ledger is the truth of a board's health: a coordinator that restarted from an
    # older places.yaml is told again which boards are out, before anything is asked of it.
    for line in reapply_tags(client, ledger or HealthLedger(), log_errors=False):
        log(f"[lab] {line}")
    waiting = _Waiting(client, spec, LeaseWatch(), log)
    wanted = f"place {spec.place}" if spec.place else f"a place tagged {format_tags(spec.tags)}"
    log(f"[lab] acquiring {wanted} on the coordinator {spec.coordinator} "
        f"(up to {acquire_timeout:g} s)")
    started = time.monotonic()
    deadline = started + acquire_timeout
    problem = None  # the last thing that went wrong, for the log
    set_aside: list[Placement] = []  # failed their health check: held until the search ends
    try:
        while True:
            placement, give_up = None, False
            try:
                placement = _acquire_once(client, spec, env_file, deadline, include_tagged_out,
                                          waiting)
            except PlaceRefused as refused:
                problem, give_up = str(refused), True
            except ClientError as error:
                if error.unreachable:
                    problem = (f"coordinator {spec.coordinator} unreachable "
                               f"({_last_line(error.output)})")
                else:
                    problem, give_up = str(error), not _worth_retrying(error)
            if placement is not None:
                placement.waited_s = time.monotonic() - started
                try:
                    placement.keep_lease(lease_ttl)
                except ClientError as error:
                    placement.release()
                    problem = f"place {placement.place}: no lease written ({error})"
                    placement = None
            if placement is not None:
                if health_check is None:
                    log(f"[lab] acquired place {placement.place} after {placement.waited_s:.1f} s")
                    return placement
                healthy, why = health_check(placement)
                if healthy:
                    log(f"[lab] acquired place {placement.place}; it passed its health check")
                    return placement
                log(f"[lab] place {placement.place} failed its health check: {why}")
                set_aside.append(placement)  # still held: the coordinator offers another one
                problem = f"place {placement.place} failed its health check: {why}"
            if give_up or time.monotonic() >= deadline:
                break
            if placement is None:  # after a failed health check, ask for another one at once
                time.sleep(min(RETRY_S, max(0.0, deadline - time.monotonic())))
    finally:
        for unhealthy in set_aside:
            unhealthy.release()

    reason = f"{wanted} not acquired within {acquire_timeout:g} s"
    reason += f"; {problem}" if problem else ""
    waited = time.monotonic() - started
    if not fallback_qemu:
        raise PlacementError(f"no ZC702 for this run: {reason}")
    log(f"[lab] FALLBACK TO QEMU: {reason}. Running on {_shown(qemu_env)} instead; "
        f"every result of this run is tagged board_kind=qemu")
    return Placement(env_file, Path(qemu_env), "qemu", True, reason,
                     coordinator=spec.coordinator, waited_s=waited)


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no answer"


def _worth_retrying(error: ClientError) -> bool:
    """Busy or racing places are worth another try, and so is a reservation a restarted
    coordinator forgot; unknown places and bad tags are not."""
    return not re.search(r"matches nothing|Place \S+ does not exist|is invalid", error.output)


def board_kind(env_file: Path) -> str:
    """What the results of a run on ``env_file`` will say the board is."""
    features = env_features(env_file)
    if "virtual-board" in features:
        return "virtual"
    return "qemu" if "qemu" in features else "zc702"


@dataclass
class _Waiting:
    """A client waiting for a place: says who holds it, and recovers a stale hold."""

    client: LabClient
    spec: RemoteSpec
    watch: LeaseWatch
    log: Log
    said: dict[str, str] = field(default_factory=dict)  # place: what was said last

    def look(self, _token: str = "") -> None:
        try:
            places = self.client.all_places(timeout=10.0)
        except ClientError:
            return  # said by the attempt that fails on it
        for info in matching(places, self.spec.tags, self.spec.place):
            hold = self.watch.hold(info)
            if hold is None:
                continue
            if hold.stale:
                self.log(f"[lab] {recover(self.client, hold)}")
                continue
            text = hold.describe()
            if self.said.get(info.name, "").split(";")[0] != text.split(";")[0]:
                self.log(f"[lab] waiting: {text}")
            self.said[info.name] = text

    def until_free(self, place: str, deadline: float) -> None:
        """Wait while a free place still carries another client's live lease: after a
        coordinator restart its holder may still be on the board, until it notices."""
        while True:
            info: PlaceInfo = self.client.show(place, timeout=call_timeout(deadline))
            if self.watch.free_of_leases(info):
                return
            if time.monotonic() >= deadline:
                raise NotAllocated(["show", place], f"place {place} still carries the lease "
                                   f"{info.tags.get('lease')} of another client", None,
                                   unreachable=False)
            if self.said.get(place) != "lease":
                self.log(f"[lab] place {place} is free but carries the live lease "
                         f"{info.tags.get('lease')}: waiting until it is renewed no more")
                self.said[place] = "lease"
            time.sleep(min(RETRY_S, max(0.0, deadline - time.monotonic())))


def _acquire_once(client: LabClient, spec: RemoteSpec, env_file: Path, deadline: float,
                  include_tagged_out: bool, waiting: _Waiting) -> Placement | None:
    """One attempt (each call takes at most what is left of the wait, and a
    little more to answer); None when no place was allocated in time."""
    held = ExitStack()
    kind = board_kind(env_file)
    if spec.place:
        info = client.show(spec.place, timeout=call_timeout(deadline))
        if info.tags.get("health") == "bad" and not include_tagged_out:
            raise PlaceRefused(f"place {spec.place} is tagged out (health=bad): {info.comment}")
        if info.acquired is not None:
            waiting.look()
            return None
        waiting.until_free(spec.place, deadline)
        try:
            client.acquire(spec.place, timeout=call_timeout(deadline))
            held.callback(client.release, spec.place)
        except ClientError as error:
            if "already acquired place" not in error.output:  # by us, before this run: kept
                raise
        place, token = spec.place, None
    else:
        try:
            reservation = held.enter_context(
                holding(client, spec.tags, timeout=max(0.1, deadline - time.monotonic()),
                        while_waiting=waiting.look, before_acquire=waiting.until_free))
        except NotAllocated:
            return None  # cancelled by holding
        place, token = reservation.allocated_place, reservation.token
    return Placement(env_file, env_file, kind, False, f"acquired place {place}",
                     place=place, coordinator=spec.coordinator, token=token, client=client,
                     held=held)


@contextmanager
def placed(env_file: Path, **options: Any) -> Iterator[Placement]:
    """``choose_environment`` for the duration of a ``with``: the labgrid
    variables are set in ``os.environ`` meanwhile, and the place released after."""
    placement = choose_environment(env_file, **options)
    try:
        with placement.in_environ(), placement.faults_raised():
            yield placement
    finally:
        placement.release()


def add_placement_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that say where a run goes (for ``placed_from_args``)."""
    # A RemotePlace environment (env/zc702-remote.yaml) first acquires a place.
    parser.add_argument("--fallback-qemu", action="store_true",
                        help="when no ZC702 place is acquired within --acquire-timeout, run on "
                             "QEMU (env/qemu.yaml); every result then says board_kind=qemu")
    parser.add_argument("--acquire-timeout", type=float, default=60.0, metavar="S",
                        help="how long to wait for a place (default 60)")
    parser.add_argument("--coordinator", metavar="HOST:PORT",
                        help="the labgrid coordinator (default: LG_COORDINATOR)")
    parser.add_argument("--health-check", action="store_true",
                        help="boot OVM on the place first (lab.remote.health_ledger); a failing place is set "
                             "aside, counted, and tagged out after repeated failures")
    parser.add_argument("--lease", type=float, default=DEFAULT_TTL_S, metavar="S",
                        help="the lease on the place held: renewed every S/4 s; a place whose "
                             "lease is S s old is recovered by the next client (default %(default)g)")
    parser.add_argument("--health-dir", type=Path, default=HEALTH_DIR, metavar="DIR",
                        help="the health ledger that counts the place's failures "
                             "(default: %(default)s)")


@contextmanager
def placed_from_args(env_file: Path, args: argparse.Namespace, *,
                     log: Log = _log_to_stderr) -> Iterator[Placement]:
    """``placed`` with the choices of ``add_placement_arguments``'s options."""
    health = None
    if args.health_check:
        from .health_ledger import placement_health_check

        health = placement_health_check(log_dir=args.health_dir)
    with placed(env_file, fallback_qemu=args.fallback_qemu, acquire_timeout=args.acquire_timeout,
                coordinator=args.coordinator, health_check=health, lease_ttl=args.lease,
                ledger=HealthLedger(args.health_dir / "health.json"), log=log) as placement:
        yield placement


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lab.remote.placement", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lg-env", type=Path, default=default_lg_env(LAB_ENV),
                        help="labgrid environment (default: $LG_ENV, else %(default)s)")
    add_placement_arguments(parser)
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="-- COMMAND...: run it on the place ({env}: the environment file)")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    return exits.run_command("lab", lambda: _hold_while(args, command))


def _hold_while(args: argparse.Namespace, command: list[str]) -> int:
    try:
        with placed_from_args(args.lg_env, args) as placement:
            print(f"[lab] environment {_shown(placement.env_file)} "
                  f"(board_kind={placement.board_kind}{', fallback' if placement.fallback else ''})",
                  file=sys.stderr, flush=True)
            if not command:
                return 0
            argv_ = [part.replace("{env}", str(placement.env_file)) for part in command]
            return subprocess.run(argv_).returncode
    except (PlacementError, PlaceFault) as error:
        print(f"[lab] {error}", file=sys.stderr)
        return exits.FAILED


if __name__ == "__main__":
    sys.exit(main())
