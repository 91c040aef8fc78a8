"""``make lab``: the main job on the emulated board.

Boots OVM through labgrid (the same strategy the tests use), collects what
the boot proves on each core, prints it, and writes
``reports/out/latest/boot.json`` stamped with board, timing and commit.
Then runs the paper's evaluation (``lab.evaluation``): prints its figures
beside the paper's and writes ``reports/out/latest/summary.json`` with a
console log per experiment.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from labgrid import Environment
from labgrid.strategy import StrategyError

from lab.evaluation.evaluate import evaluate_and_keep
from lab.paths import REPO_ROOT, default_lg_env
from lab.remote.placement import (
    Placement,
    PlacementError,
    add_placement_arguments,
    placed_from_args,
)
from lab.results.store import DEFAULT_STORE
from lab.target.boot_evidence import BootEvidenceError, core_evidence
from lab.target.provenance import target_provenance
from lab.target.transcript import ConsoleTimeout

EVIDENCE_TIMEOUT_S = 30.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.run", description=__doc__)
    parser.add_argument("--lg-env", type=Path, default=default_lg_env())
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "reports" / "out" / "latest")
    parser.add_argument("--boot-only", action="store_true",
                        help="check the boot and stop: no evaluation")
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE,
                        help="the local result store (SQLite) that keeps every run")
    add_placement_arguments(parser)
    args = parser.parse_args(argv)

    try:
        with placed_from_args(args.lg_env, args,
                              log=lambda line: print(line, flush=True)) as placement:
            return _run(args, placement)
    except PlacementError as error:
        print(f"[lab] {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, placement: Placement) -> int:
    args.lg_env = placement.env_file
    env = Environment(str(args.lg_env))
    try:
        target = env.get_target("main")
        strategy = target.get_driver("OVMStrategy")
        print(f"[lab] booting OVM on target 'main' of {args.lg_env}", flush=True)
        started = time.monotonic()
        try:
            strategy.transition("ovm")
            banner = strategy.banner
            print(f"[lab] OVM's banner after {time.monotonic() - started:.1f} s", flush=True)
            evidence = [
                core_evidence(strategy.transcript, core, EVIDENCE_TIMEOUT_S)
                for core in range(banner.cores)
            ]
        except (StrategyError, ConsoleTimeout, BootEvidenceError) as failure:
            cause = failure.__cause__ or failure
            print(f"[lab] boot failed: {cause}", file=sys.stderr)
            return 1
        provenance = target_provenance(target, banner.board, REPO_ROOT)
    finally:
        env.cleanup()

    print(f"\nOVM {banner.version} on {banner.board} ({provenance.board_kind}, "
          f"timing={provenance.timing}, commit {provenance.commit}), "
          f"scenario {banner.scenario}, cores up {banner.cores_up}/{banner.cores}")
    print(f"{'core':>4}  {'guest':<8} {'mode at SMC':<12} {'round trips':<12} "
          f"{'bad calls (index/addr/size)':<28} {'memory (own/below/0)':<22} {'timer FIQs'}")
    for e in evidence:
        print(f"{e.core:>4}  {e.vm:<8} {'NS SVC' if e.guest_mode == 0x13 else hex(e.guest_mode):<12} "
              f"{f'{e.round_trips_ok}/{e.round_trips}':<12} "
              f"{f'{e.bad_index_status}/{e.out_of_grant_status}/{e.oversized_status}':<28} "
              f"{f'{e.own_memory}/{e.memory_below}/{e.address_zero}':<22} "
              f"{e.fiq_ticks}")

    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        **provenance.as_dict(),
        "scenario": banner.scenario,
        "ovm_version": banner.version,
        "build": banner.build,
        "cores_up": banner.cores_up,
        "cores": banner.cores,
        "per_core": [asdict(e) for e in evidence],
        "placement": placement.as_dict(),
    }
    (args.out / "boot.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\n[lab] wrote {_shown(args.out / 'boot.json')}")
    ok = all(e.round_trips_ok == e.round_trips for e in evidence) and banner.cores_up == banner.cores
    if not ok or args.boot_only:
        return 0 if ok else 1
    kept = evaluate_and_keep(args.lg_env, args.out, args.store, source="lab",
                             progress=lambda line: print(line, flush=True))
    return 0 if kept else 1


def _shown(path: Path) -> Path:
    return path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path


if __name__ == "__main__":
    sys.exit(main())
