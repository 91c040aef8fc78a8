"""``python -m lab.profile``: where OVM's instructions go on one path, from a QEMU trace.

Boots a scenario's image on the emulated board (the environment's QEMU line,
so under its ``-icount``) with one instruction per translation block, traces a
budget of instructions once the path's start line is on the console, and
prints per function the instructions one visit of the path spends there,
keeping the table, its JSON and the console in ``reports/out/profile/``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lab.exits import FAILED, OK
from lab.firmware.errors import ConfigError
from lab.firmware.layout import BuildLayout
from lab.firmware.limits import NS_AREA_H, c_define
from lab.firmware.loader import load_board, load_scenario
from lab.paths import OVM_DIR, REPO_ROOT, REPORTS_OUT, default_lg_env, shown
from lab.profiling.capture import CaptureError, capture
from lab.profiling.paths import PATHS
from lab.profiling.report import NoVisits, profile, table
from lab.profiling.symbols import Symbols
from lab.profiling.trace import TraceError, instructions, visits
from lab.target.provenance import Provenance, git_commit, icount_shift
from lab.target.qemu_command import QemuMachine

QEMU_BOARD = "qemu-vexpress-a9"
SHIM_BYTES = 32  # eight vectors of one instruction
DEFAULT_INSTRUCTIONS = 3_000_000


def build_symbols(board_name: str, scenario_name: str, layout: BuildLayout) -> Symbols:
    board = load_board(OVM_DIR, board_name)
    scenario = load_scenario(OVM_DIR, scenario_name, board)
    images = {"ovm": layout.ovm_elf, **{vm.name: layout.guest_elf(vm.name) for vm in scenario.vms}}
    missing = [str(shown(path)) for path in images.values() if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"{', '.join(missing)} missing: run make firmware "
                                f"SCENARIO={scenario_name} first")
    shim = board.ovm_ns.base + c_define(NS_AREA_H, "NS_AREA_SHIM")
    return Symbols(images, (shim, SHIM_BYTES))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.profile", description=__doc__)
    parser.add_argument("path", choices=sorted(PATHS), help="the path through OVM to profile")
    parser.add_argument("--scenario", help="the scenario to run (default: the path's own)")
    parser.add_argument("--instructions", type=int, default=DEFAULT_INSTRUCTIONS,
                        help="instructions to trace, both cores together (default %(default)s)")
    parser.add_argument("--out", type=Path, help="where to keep it (default reports/out/profile/"
                        "<path>-<scenario>)")
    parser.add_argument("--keep-trace", action="store_true", help="keep the trace (large)")
    parser.add_argument("--lg-env", type=Path, default=default_lg_env())
    args = parser.parse_args(argv)

    chosen = PATHS[args.path]
    scenario = args.scenario or chosen.scenario
    out = args.out or REPORTS_OUT / "profile" / f"{chosen.name}-{scenario}"
    layout = BuildLayout.under(REPO_ROOT / "build", QEMU_BOARD, scenario)
    try:
        symbols = build_symbols(QEMU_BOARD, scenario, layout)
        machine = QemuMachine.from_env(args.lg_env)
        print(f"[profile] {chosen.name}: {chosen.description}", flush=True)
        print(f"[profile] booting {scenario} with one instruction per block; tracing "
              f"{args.instructions:,} instructions after {chosen.start!r}", flush=True)
        run = capture(machine, layout.ovm_elf, out, chosen.start, args.instructions)
        print(f"[profile] traced {run.traced_bytes / 1e6:.0f} MB; cutting it into visits",
              flush=True)
        with run.trace.open("rb") as lines:
            result = profile(chosen.name, visits(instructions(lines), symbols), chosen.takes)
    except (ConfigError, FileNotFoundError, CaptureError, TraceError, NoVisits) as err:
        print(f"error: {err}", file=sys.stderr)
        return FAILED
    finally:
        if not args.keep_trace:
            (out / "trace.log").unlink(missing_ok=True)

    shift = icount_shift(" ".join(machine.extra_args))
    provenance = Provenance(board=QEMU_BOARD, board_kind="qemu",
                            timing="icount" if shift is not None else "real",
                            icount_shift=shift, commit=git_commit(REPO_ROOT))
    heading = (f"profile of {chosen.name} on {QEMU_BOARD} (qemu, timing={provenance.timing}"
               f"{f', shift={shift}' if shift is not None else ''}, commit {provenance.commit}),"
               f" scenario {scenario}")
    text = table(result, heading)
    print(text, end="")
    (out / "profile.txt").write_text(text)
    record = result.as_dict({**provenance.as_dict(), "scenario": scenario})
    (out / "profile.json").write_text(json.dumps(record, indent=2) + "\n")
    (out / "console.log").write_text(run.console)
    print(f"[profile] kept {shown(out)}/profile.txt, profile.json and console.log")
    return OK


if __name__ == "__main__":
    sys.exit(main())
