"""The evaluation's experiments: what each boots, and which lines end it.

Each experiment is one boot through the target's ``OVMStrategy``: the native
baseline (the latency probe without OVM), OVM with the probe alone on its
HRT core, OVM with the SRT and NRT probes sharing a core, the two deadline
experiments of the paper, then the cost of one device access on each of
OVM's I/O paths (passthrough, OVM proxy, host proxy by the bare-metal host and
by a Linux host) and the console's sharing. Probes print their samples as records after measuring, and the
single figures (deadline counts, console sharing) as V records; the console
of every experiment is kept as its log.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from labgrid.strategy import StrategyError

from lab.firmware.build import build
from lab.firmware.native import build_native
from lab.target.records import ParsedRecords, parse_records, values_line
from lab.target.strategy import BootError, OVMStrategy
from lab.target.transcript import ConsoleClosed, ConsoleTimeout

# The latency probe's arguments: a 100 us period, 1,000 samples.
LATENCY_ARGS = (100, 1000)
# Samples each I/O-cost series has (the guests' COST_SAMPLES).
IO_COST_SAMPLES = 100


def _record_end(vm: str, series: str, count: int) -> str:
    """The end record of a VM's series (lab.target.records' protocol): it is complete then."""
    return rf"^\[{vm}\] @ovm1 E {re.escape(series)} n={count} #[0-9a-f]{{8}}$"


log = logging.getLogger(__name__)
# Console lines a failure shows (the whole console is in the experiment's log).
FAILURE_TAIL_LINES = 12


class EvaluationError(Exception):
    """An experiment did not produce what it must; the message says which and why."""


@dataclass(frozen=True)
class Experiment:
    name: str
    # What is booted: a scenario of OVM's, or a guest program run natively.
    scenario: str | None = None
    native_program: str | None = None
    # Lines that end the experiment, by name; its results are the records they end.
    done: dict[str, str] = field(default_factory=dict)
    timeout_s: float = 120.0
    # Boots a Linux VM: run only on boards with a `linux:` entry (QEMU's vexpress-a9).
    linux: bool = False

    @property
    def image(self) -> str:
        if self.native_program:
            return f"native {self.native_program}"
        return f"OVM scenario {self.scenario}"


EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment(
        "native", native_program="latency",
        done={"probe": r"^latency probe: done$"},
    ),
    Experiment(
        "hrt", scenario="eval-hrt",
        done={"probe": r"^\[hrt\] latency probe: done$"},
    ),
    # The same probe isolated (privilege: user): its line through OVM's upcall.
    Experiment(
        "hrt_user", scenario="eval-hrt-user",
        done={"probe": r"^\[hrt\] latency probe: done$"},
    ),
    Experiment(
        "shared", scenario="eval-shared",
        done={"srt": r"^\[srt\] SRT probe: done$", "nrt": r"^\[nrt\] NRT probe: done$"},
    ),
    # The SRT guest's first report of OVM's counts (10,000 jobs; 100 when overloaded).
    Experiment("schedulable", scenario="paper-eval", done={"srt": values_line("srt", "deadline")}),
    Experiment("overload", scenario="srt-overload", done={"srt": values_line("srt", "deadline")}),
    # I/O: the cost of one device access per path, each series ended by its end record.
    Experiment(
        "io_passthrough", scenario="io-passthrough",
        done={"hrt": _record_end("hrt", "io_cost.passthrough", IO_COST_SAMPLES)},
    ),
    Experiment(
        "io_proxy", scenario="io-proxy",
        done={
            "nrt": _record_end("nrt", "io_cost.host_proxy", IO_COST_SAMPLES),
            # The console's sharing: how long the quiet VM's lines waited for the UART,
            # and how often OVM refused the chatty VM's bytes (over its share).
            "chatty": values_line("chatty", "console"),
            "quiet_console": values_line("quiet", "console"),
            "quiet": _record_end("quiet", "io_cost.ovm_proxy", IO_COST_SAMPLES),
        },
    ),
    # The same NRT probe with Linux as the host: its requests served by ovm-hostd through
    # the OVM module, woken by OVM's doorbell. Nothing is typed into Linux, so under icount
    # the run repeats exactly; Linux boots first (about 10 s of wall time).
    Experiment(
        "io_proxy_linux", scenario="linux-proxy",
        done={"nrt": _record_end("nrt", "io_cost.host_proxy", IO_COST_SAMPLES)},
        timeout_s=300.0, linux=True,
    ),
)


@dataclass
class ExperimentResult:
    experiment: Experiment
    build: str  # the build id the image reported (commit, -dirty if so)
    console: str
    records: ParsedRecords
    wall_s: float

    def samples(self, series: str, vm: str | None = None) -> np.ndarray:
        return self.records.samples(series, vm)["value"].to_numpy(dtype=np.int64)

    def values(self, name: str, vm: str) -> dict[str, int]:
        """A VM's V record ``name`` (its figures)."""
        return self.records.values_of(name, vm)


Progress = Callable[[str], None]


def run_experiment(
    experiment: Experiment,
    strategy: OVMStrategy,
    board: str,
    repo_root: Path,
    log_dir: Path,
    progress: Progress = print,
) -> ExperimentResult:
    """Build and boot one experiment, wait for its end lines, keep its console log."""
    progress(f"[eval] {experiment.name}: building {experiment.image} for {board}")
    if experiment.native_program:
        image = build_native(board, experiment.native_program, LATENCY_ARGS, repo_root=repo_root).elf
        state = "native"
    else:
        assert experiment.scenario
        image = build(board, experiment.scenario, repo_root=repo_root).elf
        state = "ovm"
    started = time.monotonic()
    progress(f"[eval] {experiment.name}: booting and measuring (up to {experiment.timeout_s:.0f} s)")
    log_file = log_dir / f"{experiment.name}.log"
    try:
        strategy.select_image(image)
        strategy.transition(state)
    except (StrategyError, BootError) as failure:
        power_off(strategy)
        raise EvaluationError(f"{experiment.name}: booting {image.name} failed: "
                              f"{failure.__cause__ or failure}") from failure
    transcript = strategy.transcript
    assert transcript is not None
    banner = strategy.banner or strategy.native_banner
    if banner is None:
        raise EvaluationError(f"{experiment.name}: the image reached {state} without a banner")
    build_id = banner.build
    try:
        for pattern in experiment.done.values():
            transcript.wait_for(pattern, experiment.timeout_s, what=f"/{pattern}/")
    except ConsoleTimeout as waited:
        raise EvaluationError(
            _what_happened(experiment, waited, strategy.emulator_end(), log_file)) from waited
    finally:
        console = transcript.text
        log_dir.mkdir(parents=True, exist_ok=True)
        log_file.write_text(console)
        power_off(strategy)
    records = parse_records(console)
    if records.rejected:
        reasons = "; ".join(f"{r.vm or 'native'} {r.series}: {r.reason}" for r in records.rejected)
        raise EvaluationError(f"{experiment.name}: records rejected ({reasons}); "
                              f"see {log_dir / (experiment.name + '.log')}")
    wall = time.monotonic() - started
    progress(f"[eval] {experiment.name}: done in {wall:.1f} s of wall time")
    return ExperimentResult(experiment, build_id, console, records, wall)


def _what_happened(experiment: Experiment, waited: ConsoleTimeout, ended: str | None,
                   log_file: Path) -> str:
    """The failure as a person needs it: which experiment, what it waited for, how the
    target ended, its last lines and where the whole console is."""
    if isinstance(waited, ConsoleClosed):
        how = f"the console closed before {waited.what} ({ended or 'the target went away'})"
    else:
        how = (f"{waited.what} not seen within {waited.timeout_s:.0f} s"
               + (f"; {ended}" if ended else " (the target still ran)"))
    tail = waited.transcript.splitlines()[-FAILURE_TAIL_LINES:]
    return (f"experiment {experiment.name}: {how}; its last {len(tail)} console lines:\n"
            + "\n".join(f"    {line}" for line in tail)
            + f"\npartial console log: {log_file}")


def power_off(strategy: OVMStrategy) -> None:
    """Off, whatever state the target is in; a failure here goes to the log (the
    experiment's own failure, if any, is the one to report)."""
    try:
        strategy.transition("off")
    except Exception:  # noqa: BLE001 - logged whole
        log.exception("powering the target off failed")


def experiment(name: str) -> Experiment:
    for candidate in EXPERIMENTS:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no experiment {name!r} (have: {', '.join(e.name for e in EXPERIMENTS)})")

