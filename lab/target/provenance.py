"""Where a result came from: which board, which kind of timing, which commit.

Every report and record carries these, so figures from QEMU (instruction
counts under -icount) are never mistaken for figures from silicon.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import asdict, dataclass
from itertools import pairwise
from pathlib import Path

from labgrid import Target

ICOUNT_SHIFT = re.compile(r"(?:^|,)shift=(\d+)(?:,|$)")


@dataclass(frozen=True)
class Provenance:
    board: str
    board_kind: str  # "qemu", "virtual" (QEMU behind a virtual board) or "zc702"
    timing: str  # "icount": virtual time counts instructions; "real": wall-clock time
    icount_shift: int | None
    commit: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def icount_shift(qemu_extra_args: str) -> int | None:
    args = shlex.split(qemu_extra_args)
    for flag, value in pairwise(args):
        if flag == "-icount":
            match = ICOUNT_SHIFT.search(value)
            if match:
                return int(match.group(1))
    return None


def git_commit(repo: Path) -> str:
    try:
        described = subprocess.run(
            ["git", "-C", str(repo), "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True, text=True, check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return described.stdout.strip()


def target_features(target: Target) -> set[str]:
    """The ``features:`` of this target in its environment file (labgrid keeps them there)."""
    entry = target.env.config.get_targets().get(target.name, {}) if target.env else {}
    return set(entry.get("features", None) or [])


def target_provenance(target: Target, board: str, repo: Path) -> Provenance:
    features = target_features(target)
    shift = None
    if "virtual-board" in features:
        # QEMU runs behind the board's power switch, not in a driver of this target:
        # the board says how (lab.remote.virtual_board's /info).
        info = target.get_driver("OVMStrategy").board().info()
        shift = info["icount_shift"]
        kind = "virtual"
    elif "qemu" in features:
        qemu = target.get_driver("QEMUDriver", activate=False)
        shift = icount_shift(qemu.extra_args)
        kind = "qemu"
    else:
        kind = "zc702"
    return Provenance(
        board=board,
        board_kind=kind,
        timing="icount" if shift is not None else "real",
        icount_shift=shift,
        commit=git_commit(repo),
    )
