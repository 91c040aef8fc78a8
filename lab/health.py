"""``python -m lab.health``: each place's health, a check by hand, a place put back in the
pool, the ledger's tags re-applied to a coordinator, and the holds on places (stale ones cleared).

The ledger and the checks are ``lab.remote.health_ledger``'s, the leases ``lab.remote.lease``'s;
this is their command line::

    python -m lab.health locks --coordinator HOST:PORT            # who holds what; stale holds
    python -m lab.health locks --coordinator HOST:PORT --clear    # ... and recover the stale ones
    python -m lab.health locks --coordinator HOST:PORT --kick zc702-1   # by hand: cancel + kick
    python -m lab.health sync --coordinator HOST:PORT             # health=bad from the ledger
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from lab import exits
from lab.paths import LAB_ENV, default_lg_env
from lab.remote.coordination import ClientError, LabClient
from lab.remote.health_ledger import (
    DEFAULT_THRESHOLD,
    HEALTH_DIR,
    CoordinatorTags,
    HealthLedger,
    LedgerOnly,
    check_place,
    reapply_tags,
    restore,
)
from lab.remote.lease import Hold, LeaseWatch, recover
from lab.remote.placement import DEFAULT_COORDINATOR, PlacementError, placed, remote_spec

LOOK_EVERY_S = 2.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.health", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=HEALTH_DIR,
                        help="where the ledger and the kept console logs are")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="each place's health")
    check = commands.add_parser("check", help="acquire a place, boot it, count the result")
    check.add_argument("--lg-env", type=Path, default=default_lg_env(LAB_ENV),
                       help="labgrid environment (default: $LG_ENV, else %(default)s)")
    check.add_argument("--place", help="the place (else any with the environment's tags)")
    check.add_argument("--coordinator", metavar="HOST:PORT")
    check.add_argument("--threshold", type=int, default=DEFAULT_THRESHOLD)
    check.add_argument("--acquire-timeout", type=float, default=60.0)
    back = commands.add_parser("restore", help="put a place back in the pool")
    back.add_argument("place")
    back.add_argument("--coordinator", metavar="HOST:PORT")
    sync = commands.add_parser("sync", help="tag health=bad on the coordinator every place the "
                               "ledger has out (after the coordinator restarted)")
    sync.add_argument("--coordinator", metavar="HOST:PORT")
    locks = commands.add_parser("locks", help="who holds each place; stale holds (a lease not "
                                "renewed for its ttl) found by watching up to --watch seconds")
    locks.add_argument("--coordinator", metavar="HOST:PORT")
    locks.add_argument("--watch", type=float, default=0.0, metavar="S",
                       help="watch the leases this long (default: the longest ttl seen)")
    locks.add_argument("--clear", action="store_true", help="recover the stale holds found")
    locks.add_argument("--kick", metavar="PLACE", help="free this place now, whoever holds it "
                       "(cancel its reservation, kick its holder): for a hold by hand")
    args = parser.parse_args(argv)
    return exits.run_command("health", lambda: _command(args))


def _coordinator(args: argparse.Namespace) -> LabClient:
    return LabClient(args.coordinator or os.environ.get("LG_COORDINATOR") or DEFAULT_COORDINATOR)


def _command(args: argparse.Namespace) -> int:
    ledger = HealthLedger(args.dir / "health.json")
    if args.command == "sync":
        lines = reapply_tags(_coordinator(args), ledger)
        for line in lines or ["the coordinator's health tags agree with the ledger"]:
            print(f"[health] {line}")
        return exits.FAILED if any("not re-applied" in line for line in lines) else exits.OK
    if args.command == "locks":
        try:
            return _locks(_coordinator(args), args)
        except ClientError as error:
            print(f"[health] {error}", file=sys.stderr)
            return exits.FAILED

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
    try:
        spec = remote_spec(args.lg_env, args.coordinator)
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


def _locks(client: LabClient, args: argparse.Namespace) -> int:
    if args.kick:
        info = client.show(args.kick)
        print(f"[health] {Hold(info.name, info.acquired or 'nobody', info.reservation, None, 0.0).describe()}")
        if info.reservation:
            client.cancel(info.reservation)
        if info.acquired:
            client.kick(info.name)
        print(f"[health] place {info.name}: reservation cancelled, holder kicked: free")
        return exits.OK
    watch = LeaseWatch()
    started = time.monotonic()
    while True:
        holds = [hold for info in client.all_places().values()
                 if (hold := watch.hold(info)) is not None]
        # A lease is judged stale only after it was seen unchanged for its ttl.
        longest = max((hold.lease.ttl for hold in holds if hold.lease), default=0.0)
        watch_s = args.watch or longest + LOOK_EVERY_S
        settled = all(hold.stale or hold.lease is None for hold in holds)
        if settled or time.monotonic() - started >= watch_s:
            break
        time.sleep(LOOK_EVERY_S)
    if not holds:
        print("[health] no place is held")
    for hold in holds:
        print(f"[health] {hold.describe()}")
        if hold.stale and args.clear:
            print(f"[health] {recover(client, hold)}")
    return exits.OK


if __name__ == "__main__":
    sys.exit(main())
