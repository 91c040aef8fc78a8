"""``summary.json`` and the table beside the paper's figures.

Figures come from the experiments' records (``experiments``) through
``measures``. The summary holds no wall-clock readings: under ``-icount`` two
runs of the same commit give the same file, byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from lab.results.catalogue import SAMPLE_MEASUREMENTS, SCALAR_SECTIONS, in_group
from lab.results.statistics import Timebase, stats
from lab.target.provenance import Provenance

from .measures import CONSOLE_BOUND_ROUNDS

# The paper's figures (ZC702, Cortex-A9 at 800 MHz, private timer at 400 MHz): ns on silicon.
PAPER: dict[str, Any] = {
    "origin": "OVM paper, ZC702 (Cortex-A9 800 MHz, private timer 400 MHz), 1,000 samples",
    "unit": "ns on silicon",
    "irq_latency_ns": {
        "native": {"min": 70, "mean": 70, "max": 70},
        "HRT": {"min": 70, "mean": 70, "max": 70},
        "SRT/NRT": {"min": 140, "mean": 150, "max": 170},
    },
    "context_switch_ns": {
        "ovm": {"min": 270, "mean": 280, "max": 330},
        "linux": {"min": 510, "mean": 720, "max": 1000},
    },
    "deadline": {"overload": {"detect_within_ns": 200_000}},
}


def _stats_of(samples: pd.DataFrame, measurement: str, timebase: Timebase) -> dict[str, Any]:
    chosen = samples[samples["measurement"] == measurement]
    return {key: stats(group["value_ns"].to_numpy(), timebase)
            for key, group in chosen.groupby("key", sort=False)}


def _scalars_of(scalars: pd.DataFrame, measurement: str) -> dict[str, dict[str, float | int]]:
    """{key: {field: value}} of one scalar measurement: ns as floats, counts as integers."""
    figures: dict[str, dict[str, float | int]] = {}
    for row in scalars[scalars["measurement"] == measurement].itertuples():
        figures.setdefault(row.key, {})[row.field] = (
            float(row.value) if row.field.endswith("_ns") else int(row.value))
    return figures


def build_summary(
    samples: pd.DataFrame,
    scalars: pd.DataFrame,
    timebase: Timebase,
    provenance: Provenance,
    builds: Mapping[str, str],
    unpaired_switches: int,
    linux_method: str | None,
) -> dict[str, Any]:
    """summary.json from the run's sample and scalar tables (``samples``)."""
    sections: dict[str, Any] = {
        f"{measurement}_ns": _stats_of(samples, measurement, timebase)
        for measurement in SAMPLE_MEASUREMENTS}
    sections.update({section: _scalars_of(scalars, measurement)
                     for measurement, section in SCALAR_SECTIONS.items()})
    context_switch = sections["context_switch_ns"]
    if "linux" in context_switch:
        context_switch["ovm_to_linux_mean_ratio"] = round(
            context_switch["ovm"]["mean"] / context_switch["linux"]["mean"], 3)
    return {
        **provenance.as_dict(),
        "timer_hz": timebase.timer_hz,
        "builds": dict(builds),
        **sections,
        "method": {
            "irq_latency": "core's private timer (watchdog in timer mode for NRT) in auto-reload "
                           "mode; the handler's first act reads its counter: ticks since expiry. "
                           "HRT: privilege kernel, the line straight to the guest's vector; "
                           "HRT_user: the same probe at privilege user, the line taken by OVM "
                           "and upcalled, the counter read through the read-only private page",
            "context_switch_ovm": "SRT vm_exit -> NRT: the SRT's last global-timer read before "
                                  "its vm_exit to the NRT's first read after it (ovm); NRT -> "
                                  "SRT at the SRT's release (ovm_preempt)",
            "context_switch_linux": linux_method,
            "switch_unpaired_jobs": unpaired_switches,
            "io_cost": "one device access, timed by the guest on the global timer less the "
                       "cost of reading it, 100 each: passthrough, an MMIO read of a UART "
                       "register given to the HRT VM on core 1 (no OVM on the path); ovm_proxy, "
                       "an input hypercall of OVM's timer device, served by OVM (SRT VM quiet, "
                       "core 1); host_proxy, an input of the host-emulated device: queued by "
                       "OVM, served by the host guest on core 0 (read_io/write_io), the vCPU "
                       "resumed with the result (NRT VM, core 1); host_proxy_linux, the same "
                       "input with Debian's Linux as the host on core 0 (scenario linux-proxy): "
                       "OVM pends the doorbell line, the OVM module's interrupt wakes ovm-hostd "
                       "blocked in read() on /dev/ovm-io, which answers with write() (both "
                       "through the module's SMC). The paper has no I/O figures "
                       "(it left I/O proxying as future work)",
            "console_sharing": "scenario io-proxy: SRT VMs share the console UART by "
                               "bandwidth (a byte budget per round, lines out whole). quiet "
                               "(core 1) writes one short line a job, within its share; chatty "
                               "(core 0) writes 100-byte lines at several times its share. "
                               "max_delay_ns: the longest a VM's complete line waited for the "
                               "UART (OVM's count); bound_ns: what the sharing promises a VM "
                               "within its share, 2 rounds (2 x console.round_us); throttled: "
                               "bytes OVM refused (queue full, over the share)",
        },
        "paper": PAPER,
    }


def _cell(figures: Mapping[str, Any] | None, shift: int | None) -> str:
    if not figures or not figures.get("n"):
        return "-"
    text = f"{figures['min']:.0f}/{figures['mean']:.0f}/{figures['max']:.0f}"
    if shift is not None:
        ins = figures["instructions"]
        text += f"  ({ins['min']:.1f}/{ins['mean']:.1f}/{ins['max']:.1f} instr)"
    return text


def _series_rows(summary: Mapping[str, Any], group: str, shift: int | None) -> list[tuple[str, str, str]]:
    return [(s.label, s.paper.text, _cell(summary.get(s.section, {}).get(s.key), shift))
            for s in in_group(group)]


def table(summary: Mapping[str, Any]) -> str:
    """The results beside the paper's, each column with its unit and origin."""
    shift = summary["icount_shift"]
    ours = (f"{summary['board']}, timing={summary['timing']}"
            + (f", shift={shift}: virtual ns = {2**shift} x instructions" if shift is not None
               else ": ns"))
    paper = PAPER
    rows = _series_rows(summary, "latency", shift) + _series_rows(summary, "switch", shift)
    io_rows = _series_rows(summary, "io", shift)
    switch = summary["context_switch_ns"]
    deadline = summary["deadline"]
    sched, over = deadline["schedulable"], deadline["overload"]
    hosted_rows = _linux_host_rows(summary.get("linux_host"))
    width = max(len(r[0]) for r in rows + io_rows + hosted_rows)
    lines = [
        f"{'':<{width}}  {'paper: ' + paper['unit']:<18}  ours: {ours}",
        f"{'':<{width}}  {'min/mean/max':<18}  min/mean/max",
    ]
    lines += [f"{name:<{width}}  {theirs:<18}  {mine}" for name, theirs, mine in rows]
    if "ovm_to_linux_mean_ratio" in switch:
        lines.append(f"{'switch ratio OVM/Linux (mean)':<{width}}  {'0.39':<18}  "
                     f"{switch['ovm_to_linux_mean_ratio']}")
    lines.append(f"{'deadline, schedulable':<{width}}  {'no misses':<18}  "
                 f"{sched['misses']} misses in {sched['periods']} periods")
    lines.append(f"{'deadline, overload':<{width}}  {'within 200 us':<18}  "
                 f"{over['detected']}/{over['misses']} misses detected, worst "
                 f"{over['max_detect_ns'] / 1000:.1f} us after the deadline")
    lines += [f"{name:<{width}}  {theirs:<18}  {mine}" for name, theirs, mine in io_rows]
    lines.append(f"{'console, quiet line delay':<{width}}  {'-':<18}  "
                 f"{_console_cell(summary.get('console_sharing', {}))}")
    lines += [f"{name:<{width}}  {'-':<18}  {mine}" for name, mine in hosted_rows]
    lines.append(f"(paper: {paper['origin']}; ours: commit {summary['commit']})")
    return "\n".join(lines)


def _ns_cell(figures: Mapping[str, Any]) -> str:
    """min/mean/max in ns, and p99 where there is one: the linux_host rows have no
    instruction counts (Linux's figures do not repeat to the instruction)."""
    if not figures.get("n"):
        return "-"
    text = f"{figures['min']:.0f}/{figures['mean']:.0f}/{figures['max']:.0f}"
    if figures.get("p99") is not None:
        text += f", p99 {figures['p99']:.0f}"
    return text + f" (n={figures['n']})"


def _linux_host_rows(hosted: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The linux_host experiment's lines: cyclictest both ways, the switches, the deadlines."""
    if not hosted:
        return []
    cyclictest, switch = hosted["cyclictest_ns"], hosted["context_switch_ns"]
    deadline, timing = hosted["deadline"], hosted["timing"]
    return [
        ("Linux host: cyclictest native", _ns_cell(cyclictest["native"])),
        ("Linux host: cyclictest under OVM", _ns_cell(cyclictest["ovm"])),
        ("Linux host: switch SRT -> Linux", _ns_cell(switch["to_linux"])),
        ("Linux host: switch Linux -> SRT", _ns_cell(switch["to_srt"])),
        ("Linux host: SRT, Linux loaded", f"{deadline['misses']} misses in "
                                          f"{deadline['periods']} periods"),
        ("Linux host: kernel, timing", f"{hosted['kernel']}, timing={timing['timing']}, not "
                                       "repeatable (console input in real time)"),
    ]


def _console_cell(sharing: Mapping[str, Any]) -> str:
    """The quiet VM's worst line delay against the sharing's bound; the chatty VM's refusals."""
    quiet, chatty = sharing.get("quiet"), sharing.get("chatty")
    if not quiet:
        return "-"
    within = "within" if quiet["max_delay_ns"] <= quiet["bound_ns"] else "OVER"
    text = (f"worst {quiet['max_delay_ns'] / 1000:.1f} us, {within} the bound of "
            f"{quiet['bound_ns'] / 1000:.0f} us ({CONSOLE_BOUND_ROUNDS} rounds)")
    if chatty:
        text += f"; chatty throttled {chatty['throttled']} times"
    return text
