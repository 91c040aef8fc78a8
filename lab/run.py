"""``make lab``: the main job on the emulated board.

Boots OVM through labgrid (the same strategy the tests use), collects what
the boot proves on each core, prints it, and writes ``boot.json`` stamped
with board, timing and commit. Then runs the paper's evaluation
(``lab.evaluation``): prints its figures beside the paper's and writes
``summary.json``, the report and a console log per experiment.

The run writes into a directory of its own, ``reports/out/runs/<time>-<commit>/``;
``reports/out/latest`` is switched to it only when the run is complete. A run
that fails or is stopped keeps its directory (marked INCOMPLETE, with its
``lab.log``) and leaves ``latest`` and the result store as they were.

Exit status: 0 complete; 2 failed (the message names the step, the reason and
the run's directory); 130 interrupted (Ctrl-C); 143 terminated (SIGTERM).
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

from lab import exits
from lab.evaluation.evaluate import cleanup, evaluate_and_keep
from lab.evaluation.experiments import power_off
from lab.paths import REPO_ROOT, REPORTS_OUT, default_lg_env, shown
from lab.remote.health_ledger import HealthLedger, run_counted
from lab.remote.placement import (
    Placement,
    PlacementError,
    add_placement_arguments,
    placed_from_args,
)
from lab.results.outputs import RunFailed, complete_or_abandoned
from lab.results.store import DEFAULT_STORE
from lab.target.boot_evidence import BootEvidenceError, core_evidence
from lab.target.provenance import target_provenance
from lab.target.transcript import ConsoleTimeout

EVIDENCE_TIMEOUT_S = 30.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lg-env", type=Path, default=default_lg_env(),
                        help="labgrid environment (default: $LG_ENV, else env/qemu.yaml)")
    parser.add_argument("--out", type=Path, default=REPORTS_OUT / "latest",
                        help="where the finished run appears: a link to its directory, "
                             "switched only when the run is complete (default: %(default)s)")
    parser.add_argument("--boot-only", action="store_true",
                        help="check the boot and stop: no evaluation")
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE,
                        help="the local result store (SQLite) that keeps every run")
    parser.add_argument("--no-linux-host", action="store_true",
                        help="leave out the linux_host experiment (Linux beside the real-time "
                             "VMs: about 3 of the evaluation's 4 minutes)")
    add_placement_arguments(parser)
    args = parser.parse_args(argv)
    return exits.run_command("lab", lambda: _placed(args))


def _placed(args: argparse.Namespace) -> int:
    try:
        with placed_from_args(args.lg_env, args,
                              log=lambda line: print(line, flush=True)) as placement, \
                complete_or_abandoned(args.out, who="lab") as run_dir, \
                run_counted(placement, HealthLedger(args.health_dir / "health.json"),
                            log=run_dir.path / "lab.log",
                            say=lambda line: print(line, file=sys.stderr, flush=True)):
            _run(args, placement, run_dir.path)
    except PlacementError as error:
        print(f"[lab] {error}", file=sys.stderr)
        return exits.FAILED
    except RunFailed:  # said by complete_or_abandoned
        return exits.FAILED
    return exits.OK


def _run(args: argparse.Namespace, placement: Placement, out: Path) -> None:
    """Boot check, then the evaluation, into ``out``; ``RunFailed`` says why not."""
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
            ended = strategy.emulator_end()
            raise RunFailed(f"boot failed: {failure.__cause__ or failure}"
                            + (f" ({ended})" if ended else "")) from failure
        provenance = target_provenance(target, banner.board, REPO_ROOT)
    finally:
        power_off(strategy)  # the evaluation boots each experiment from off; --boot-only stops
        cleanup(env)
    placement.check_held()

    print(f"\nOVM {banner.version} on {banner.board} ({provenance.board_kind}, "
          f"timing={provenance.timing}, commit {provenance.commit}), "
          f"scenario {banner.scenario}, cores up {banner.cores_up}/{banner.cores}")
    print(f"{'core':>4}  {'guest':<8} {'mode at call':<13} {'round trips':<12} "
          f"{'bad calls (index/addr/size)':<28} {'memory (own/below/0)':<22} {'timer FIQs'}")
    for e in evidence:
        print(f"{e.core:>4}  {e.vm:<8} {'NS ' + e.guest_mode_name:<13} "
              f"{f'{e.round_trips_ok}/{e.round_trips}':<12} "
              f"{f'{e.bad_index_status}/{e.out_of_grant_status}/{e.oversized_status}':<28} "
              f"{f'{e.own_memory}/{e.memory_below}/{e.address_zero}':<22} "
              f"{e.fiq_ticks}")

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
    (out / "boot.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\n[lab] wrote {shown(out / 'boot.json')}")
    if banner.cores_up != banner.cores:
        raise RunFailed(f"boot check failed: {banner.cores_up} of {banner.cores} cores came up")
    failing = [e.core for e in evidence if e.round_trips_ok != e.round_trips]
    if failing:
        raise RunFailed(f"boot check failed: SMC round trips failed on core(s) {failing}")
    if not args.boot_only:
        evaluate_and_keep(args.lg_env, out, args.store, source="lab",
                          progress=lambda line: print(line, flush=True),
                          check_held=placement.check_held,
                          linux_host=not args.no_linux_host)


if __name__ == "__main__":
    sys.exit(main())
