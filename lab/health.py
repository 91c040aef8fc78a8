"""``python -m lab.health``: each place's health, a check by hand, a place put back in the pool.

The ledger and the checks are ``lab.remote.health_ledger``'s; this is its command line.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from lab.paths import LAB_ENV, default_lg_env
from lab.remote import health_ledger
from lab.remote.coordination import LabClient
from lab.remote.health_ledger import (
    DEFAULT_THRESHOLD,
    HEALTH_DIR,
    CoordinatorTags,
    HealthLedger,
    LedgerOnly,
    check_place,
    restore,
)
from lab.remote.placement import PlacementError, placed, remote_spec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.health", description=health_ledger.__doc__,
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


if __name__ == "__main__":
    sys.exit(main())
