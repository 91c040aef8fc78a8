"""The evaluation's ``linux_host`` experiment: Linux as OVM's host, beside the real-time VMs.

Two boots of Debian's kernel with the host initramfs, on QEMU only:

- **native**: the kernel alone on the same emulated machine (``lab.linux.native``),
  cyclictest in it;
- **ovm**: scenario ``linux-host`` through the target's OVMStrategy (Linux NRT and
  the SRT VM on core 0, the HRT VM on core 1), Linux's console on UART1
  (``lab.linux.under_ovm``). In it, in order: the same cyclictest; the vCPU
  switches SRT <-> Linux (below); then Linux under load (hackbench in a loop)
  for at least ``DEADLINE_PERIODS`` of the SRT's periods, its deadline figures
  the difference of two of its reports, as OVM counted them.

**cyclictest** runs with its own ``--json`` file read back (``lab.linux.cyclictest``),
µs histogram buckets (their printing is cheap, so the tail fits: ``HISTOGRAM_US``),
an interval prime to the SRT's 1 ms period so that the wake-ups sweep every phase
of its jobs (at 1,000 µs they would all land in the same place of them).

**vCPU switches** by the method of the paper's shared-core experiment: Linux's
``switchprobe`` (lab/linux/switchprobe.c) reads the global timer through
/dev/mem in a SCHED_FIFO loop and writes down each gap (its last read before,
its first read after); the SRT guest stamps each job's first and last read in a
ring in its memory (``switch_ring`` in ovm/guests/srt/main.c). Right after the
probe, the lab stops the machine through QEMU's monitor, reads the ring
(``xp``), and lets it go on. Each SRT job inside one gap gives both switches:
to_srt = its first read - the gap's begin (Linux preempted at the SRT's release),
to_linux = the gap's end - its last read (the SRT's vm_exit until Linux's process
runs again, Linux's own pending interrupts included).

**Timing.** Both boots run under the environment's ``-icount``, so the figures are
virtual ns; but Linux's console input reaches QEMU in real time, so the experiment
is not repeatable to the instruction as the others are, and QEMU's round robin
between its two cores (the HRT's rounds on core 1) lands in some samples (see
docs/linux-host.md). The summary's ``linux_host.timing`` says so.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection
from labgrid import Target

from lab.firmware.layout import BuildLayout
from lab.firmware.loader import load_board
from lab.linux.cyclictest import CyclictestRun, ThreadLatency, run_cyclictest
from lab.linux.native import boot_native
from lab.linux.shell import LinuxShell
from lab.linux.under_ovm import linux_under_ovm
from lab.paths import OVM_DIR, REPO_ROOT
from lab.results.statistics import Timebase, stats
from lab.target.transcript import ConsoleTranscript

from .measures import SwitchSamples, pair_switches

SCENARIO = "linux-host"
SRT_VM = "srt"
# cyclictest: loops, an interval prime to the SRT's period, the histogram's size.
CYCLICTEST_LOOPS = 2000
CYCLICTEST_INTERVAL_US = 997
HISTOGRAM_US = 5000
# switchprobe: gaps to record (more than the switches kept: some hold no SRT job),
# and the shortest gap, well above Linux's loop and below an SRT job.
SWITCH_GAPS = 1200
SWITCH_SAMPLES = 1000
GAP_THRESHOLD_US = 50
SWITCHES_OUT = "/tmp/switch-gaps.txt"
# The global timer's counter in the private peripherals (GTIMER_COUNTER_LO).
GLOBAL_TIMER_COUNTER = 0x200
# The SRT guest's ring (ovm/guests/srt/main.c): a count, then (first, last) per slot.
RING_SYMBOL = "switch_ring"
DEADLINE_PERIODS = 10_000
# Linux's load: hackbench's smallest setting in a loop, so that the shell still answers
# on a quarter of an emulated core.
LOAD = "while :; do hackbench -g 1 -f 2 -l 10; done"
LOAD_PID = "/tmp/load.pid"
# The SRT's report every 10,000 jobs (its V record is the first one's only).
DEADLINE_REPORT = re.compile(
    r"^\[srt\] (?P<jobs>\d+) jobs: OVM counted (?P<done>\d+) done, "
    r"(?P<misses>\d+) deadline misses; miss handler ran (?P<runs>\d+) times", re.MULTILINE)
# Wall-clock limits (s): Linux's boot beside the SRT takes about two minutes here.
BOOT_S = 400.0
REPORT_S = 300.0
NATIVE_BOOT_S = 120.0

Progress = Callable[[str], None]


class LinuxHostError(Exception):
    """The linux_host experiment did not produce what it must; the message says why."""


@dataclass(frozen=True)
class LinuxHostResult:
    kernel: str
    cyclictest_native: ThreadLatency
    cyclictest_ovm: ThreadLatency
    switches: SwitchSamples  # ticks
    deadline_periods: int
    deadline_misses: int
    deadline_done: int
    builds: dict[str, str]  # what the OVM image reported

    def summary(self, timebase: Timebase, icount_shift: int | None) -> dict[str, Any]:
        """summary.json's ``linux_host`` section."""
        to_linux = timebase.ns(self.switches.yielding[:SWITCH_SAMPLES])
        to_srt = timebase.ns(self.switches.preempting[:SWITCH_SAMPLES])
        return {
            "kernel": self.kernel,
            "timing": timing(icount_shift),
            "cyclictest_ns": {"native": cyclictest_stats(self.cyclictest_native),
                              "ovm": cyclictest_stats(self.cyclictest_ovm)},
            "context_switch_ns": {"to_linux": stats(to_linux, timebase),
                                  "to_srt": stats(to_srt, timebase),
                                  "srt_jobs_outside_a_gap": self.switches.unpaired},
            "deadline": {"periods": self.deadline_periods, "misses": self.deadline_misses,
                         "done": self.deadline_done},
            "method": METHOD,
        }


METHOD = (
    f"scenario {SCENARIO}: Debian's kernel (NRT) and srt_vfp (SRT, 900/1000 us, jobs of "
    f"750 us) on core 0, latency_rounds (HRT) on core 1; native: the same kernel and "
    f"initramfs alone on the same QEMU machine. cyclictest: -m -p 90 -i "
    f"{CYCLICTEST_INTERVAL_US} -l {CYCLICTEST_LOOPS} -h {HISTOGRAM_US} (us buckets, p99 the "
    f"bucket of rank ceil(0.99 n)), its --json file. context switch: switchprobe in Linux "
    f"(global timer through /dev/mem, SCHED_FIFO 99) stamps its gaps, the SRT its jobs' first "
    f"and last reads (switch_ring, read through QEMU's monitor); to_srt = the SRT's first read "
    f"- Linux's last, to_linux = Linux's first read - the SRT's last (Linux's pending "
    f"interrupts included). deadline: OVM's counts between two SRT reports with Linux looping "
    f"'{LOAD}'")


def timing(icount_shift: int | None) -> dict[str, Any]:
    """What the experiment's figures are in, and why they do not repeat exactly."""
    return {
        "timing": "icount" if icount_shift is not None else "real",
        "icount_shift": icount_shift,
        "repeatable": False,
        "why": "Linux's console input reaches QEMU in real time, and QEMU's round robin "
               "between its two cores (the HRT's rounds) lands in some samples",
    }


def cyclictest_stats(thread: ThreadLatency) -> dict[str, Any]:
    return {"n": thread.n, "min": float(thread.min_ns), "mean": float(thread.mean_ns),
            "max": float(thread.max_ns),
            "p99": None if thread.p99_ns is None else float(thread.p99_ns),
            "overflows": thread.overflows}


def one_thread(run: CyclictestRun, where: str) -> ThreadLatency:
    if len(run.threads) != 1:
        raise LinuxHostError(f"{where}: cyclictest wrote {len(run.threads)} threads, not 1")
    thread = run.threads[0]
    if thread.n != CYCLICTEST_LOOPS:
        raise LinuxHostError(f"{where}: cyclictest ran {thread.n} loops, not {CYCLICTEST_LOOPS}")
    return thread


def cyclictest(shell: LinuxShell, where: str) -> ThreadLatency:
    run = run_cyclictest(shell, CYCLICTEST_LOOPS, interval_us=CYCLICTEST_INTERVAL_US,
                         histogram_ns=HISTOGRAM_US * 1000, nsecs=False)
    return one_thread(run, where)


def ring_symbol(board: str, build_root: Path) -> tuple[int, int]:
    """Where the SRT guest's switch_ring is (guests are linked at their VM's memory), and its
    slots (from the symbol's size: a count word, then two words a slot)."""
    elf_path = BuildLayout.under(build_root, board, SCENARIO).guest_elf(SRT_VM)
    with elf_path.open("rb") as file:
        symbols = ELFFile(file).get_section_by_name(".symtab")
        found = (symbols.get_symbol_by_name(RING_SYMBOL)
                 if isinstance(symbols, SymbolTableSection) else None)
    if not found:
        raise LinuxHostError(f"{elf_path}: no symbol {RING_SYMBOL}")
    return int(found[0]["st_value"]), (int(found[0]["st_size"]) - 4) // 8


XP_LINE = re.compile(r"^\s*[0-9a-fA-F]+:((?:\s+0x[0-9a-fA-F]{8})+)\s*$")


def parse_xp_words(text: str) -> list[int]:
    """The words of QEMU's ``xp /Nwx`` output, in order."""
    words: list[int] = []
    for line in text.splitlines():
        match = XP_LINE.match(line)
        if match is None:
            if line.strip():
                raise LinuxHostError(f"QEMU's monitor answered xp with {line!r}")
            continue
        words += [int(word, 16) for word in match[1].split()]
    return words


def ring_stamps(words: list[int], slots: int) -> tuple[np.ndarray, np.ndarray]:
    """The ring's jobs, oldest first: (first reads, last reads); words as read from memory."""
    if len(words) != 1 + 2 * slots:
        raise LinuxHostError(f"read {len(words)} words of the ring, not {1 + 2 * slots}")
    written = words[0]
    pairs = np.asarray(words[1:], dtype=np.int64).reshape(slots, 2)
    if written < slots:
        pairs = pairs[:written]
    else:
        start = written % slots
        pairs = np.concatenate([pairs[start:], pairs[:start]])
    return pairs[:, 0], pairs[:, 1]


def read_ring(qemu: Any, address: int, slots: int) -> tuple[np.ndarray, np.ndarray]:
    """The SRT's ring, read with the machine stopped (so that no slot changes meanwhile)."""
    qemu.monitor_command("stop")
    try:
        text = qemu.monitor_command("human-monitor-command",
                                    {"command-line": f"xp /{1 + 2 * slots}wx {address:#x}"})
    finally:
        qemu.monitor_command("cont")
    return ring_stamps(parse_xp_words(str(text)), slots)


def parse_gaps(lines: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """switchprobe's file: one "begin end" per line."""
    pairs = []
    for line in lines:
        fields = line.split()
        if len(fields) != 2 or not all(f.isdigit() for f in fields):
            raise LinuxHostError(f"{SWITCHES_OUT}: {line!r} is not 'begin end'")
        pairs.append((int(fields[0]), int(fields[1])))
    values = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return values[:, 0], values[:, 1]


def in_window(first: np.ndarray, last: np.ndarray, begins: np.ndarray, ends: np.ndarray,
              ) -> tuple[np.ndarray, np.ndarray]:
    """The SRT jobs that ran while switchprobe did (between its first gap and its last),
    by 32-bit differences from the first gap's begin (the ring holds seconds around it)."""
    origin = int(begins[0])
    span = (int(ends[-1]) - origin) % (1 << 32)
    since = (first - origin) % (1 << 32)
    keep = since <= span
    return first[keep], last[keep]


def measure_switches(shell: LinuxShell, qemu: Any, board: str,
                     build_root: Path) -> SwitchSamples:
    """switchprobe's gaps in Linux, the SRT's ring read right after, paired."""
    described = load_board(OVM_DIR, board)
    threshold = GAP_THRESHOLD_US * described.private_timer_hz // 1_000_000
    counter = described.periph_base + GLOBAL_TIMER_COUNTER
    address, slots = ring_symbol(board, build_root)
    shell.run_check(f"switchprobe {counter:#x} {SWITCH_GAPS} {threshold} {SWITCHES_OUT}",
                    timeout=REPORT_S)
    first, last = read_ring(qemu, address, slots)
    begins, ends = parse_gaps(shell.run_check(f"cat {SWITCHES_OUT}", timeout=120))
    if begins.size == 0:
        raise LinuxHostError("switchprobe recorded no gaps")
    first, last = in_window(first, last, begins, ends)
    return pair_switches(first, last, begins, ends)


def deadline_reports(text: str) -> list[dict[str, int]]:
    return [{key: int(value) for key, value in m.groupdict().items()}
            for m in DEADLINE_REPORT.finditer(text)]


def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise LinuxHostError(f"{what} not seen within {timeout_s:.0f} s")
        time.sleep(1.0)


def loaded_deadlines(shell: LinuxShell, console: ConsoleTranscript) -> dict[str, int]:
    """The SRT's figures over DEADLINE_PERIODS or more of its periods (its reports on OVM's
    ``console``), Linux looping LOAD all along (checked to be still running at the end)."""
    shell.run_check(f"({LOAD}) >/dev/null 2>&1 & echo $! > {LOAD_PID}")
    try:
        wait_for(lambda: bool(deadline_reports(console.text)), REPORT_S,
                 "an SRT deadline report")
        start = deadline_reports(console.text)[-1]
        wait_for(lambda: deadline_reports(console.text)[-1]["jobs"] >= start["jobs"]
                 + DEADLINE_PERIODS, REPORT_S, f"{DEADLINE_PERIODS} SRT jobs with Linux loaded")
        end = deadline_reports(console.text)[-1]
        shell.run_check(f"kill -0 $(cat {LOAD_PID})", timeout=60)
    finally:
        shell.run(f"kill $(cat {LOAD_PID})", timeout=60)
    return {key: end[key] - start[key] for key in end}


def same_kernel(native: str, under_ovm: str) -> str:
    if native != under_ovm:
        raise LinuxHostError(f"native ran {native}, under OVM {under_ovm}: not the same kernel")
    return native


def run_linux_host(target: Target, board: str, env_file: Path, out_dir: Path, *,
                   build_root: Path = REPO_ROOT / "build",
                   progress: Progress = print) -> LinuxHostResult:
    """Both boots, each kept as its consoles in ``out_dir``; what they measured."""
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    progress("[eval] linux_host: booting Debian's kernel natively, cyclictest")
    with boot_native(env_file=env_file, boot_timeout=NATIVE_BOOT_S,
                     transcript_path=out_dir / "linux_host-native.txt") as shell:
        native_kernel = shell.run_check("uname -r")[0]
        native = cyclictest(shell, "native")
    progress(f"[eval] linux_host: booting scenario {SCENARIO} (Linux beside the SRT and HRT "
             f"VMs: about two minutes)")
    ovm_console: ConsoleTranscript | None = None
    try:
        with linux_under_ovm(target, board, SCENARIO, boot_s=BOOT_S,
                             transcript=out_dir / "linux_host-linux.txt") as (strategy, shell):
            ovm_console = strategy.transcript
            kernel = same_kernel(native_kernel, shell.run_check("uname -r")[0])
            progress(f"[eval] linux_host: Linux's shell after {shell.seconds_to_prompt:.0f} s; "
                     "cyclictest")
            ovm = cyclictest(shell, "under OVM")
            progress("[eval] linux_host: vCPU switches SRT <-> Linux")
            switches = measure_switches(shell, strategy.power, board, build_root)
            progress(f"[eval] linux_host: Linux under hackbench for {DEADLINE_PERIODS} SRT "
                     "periods")
            deadline = loaded_deadlines(shell, ovm_console)
            build_id = strategy.banner.build if strategy.banner else "unknown"
    finally:
        (out_dir / "linux_host.log").write_text(ovm_console.text if ovm_console else "")
    progress(f"[eval] linux_host: done in {time.monotonic() - started:.1f} s of wall time")
    return LinuxHostResult(kernel, native, ovm, switches, deadline["jobs"], deadline["misses"],
                           deadline["done"], {"linux_host": build_id})


def summary_section(result: LinuxHostResult, timebase: Timebase,
                    icount_shift: int | None) -> Mapping[str, Any]:
    """summary.json's ``linux_host``; LinuxHostError where the run lacks what any run has."""
    if result.deadline_periods < DEADLINE_PERIODS:
        raise LinuxHostError(f"{result.deadline_periods} SRT periods, not {DEADLINE_PERIODS}")
    if result.switches.yielding.size == 0:
        raise LinuxHostError("no SRT job fell inside one of switchprobe's gaps")
    return result.summary(timebase, icount_shift)
