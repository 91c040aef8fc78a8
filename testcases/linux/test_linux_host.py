"""The paper's layout with Linux as the host (scenario linux-host): Debian's kernel
(NRT) and an SRT VM computing with VFP/NEON share core 0; an HRT latency probe owns
core 1 and measures a round of 1,000 interrupts every second of virtual time.

Asserted: Linux boots to a shell beside them; VFP/NEON state never leaks between
Linux and the SRT, either way; the HRT measures on through Linux's boot; the SRT's
deadline accounting over 10,000 periods with Linux under hackbench. Printed, not
asserted, because QEMU decides them (see docs/linux-host.md): the SRT's misses and
the HRT's latencies while both cores are busy. Minutes of wall time (Linux gets a quarter of an emulated core): marked
``long``, run by ``make test-long``, not by ``make test``.
"""

from __future__ import annotations

import re
import time

import pytest
from linux_boot import cpu_features, debian_release, linux_under_ovm, report, vfpcheck_summary

from lab.evaluation.linux_host import LOAD, LOAD_PID, deadline_reports
from lab.target.records import parse_records

pytestmark = [pytest.mark.lab, pytest.mark.long]

BOOT_S = 400.0
# The SRT's reports, one every 10,000 jobs (10 s of virtual time).
SRT_REPORT_S = 300.0
VFP = re.compile(r"^\[srt\] vfp: (?P<jobs>\d+) jobs, (?P<checks>\d+) register checks, "
                 r"(?P<changed>\d+) registers changed under the guest$", re.MULTILINE)
ROUND = re.compile(r"^\[hrt\] @ovm1 V irq_latency_round .*$", re.MULTILINE)
VFPCHECK_ITERATIONS = 500


def values(lines: list[str], name: str, vm: str) -> list[dict[str, int]]:
    """Each of a VM's V records ``name``, in order (the parser keeps only the last)."""
    return [parse_records(line).values_of(name, vm) for line in lines]


def rounds(text: str) -> list[dict[str, int]]:
    return values(ROUND.findall(text), "irq_latency_round", "hrt")


def wait_until(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not seen within {timeout_s:.0f} s")
        time.sleep(1.0)


@pytest.fixture(scope="module")
def linux_host(env, target, pytestconfig, tmp_path_factory):
    """OVM booted with linux-host and a shell on Linux's console."""
    transcript = tmp_path_factory.mktemp("linux-host") / "linux-console.txt"
    with linux_under_ovm(env, target, "linux-host", boot_s=BOOT_S,
                         transcript=transcript) as (strategy, shell):
        report(pytestconfig, f"[linux host] boot beside the SRT to a shell prompt: "
                             f"{shell.seconds_to_prompt:.1f} s wall; console transcript: {transcript}")
        yield strategy, shell


@pytest.mark.qemu
def test_the_layout_is_the_papers(linux_host):
    t = linux_host[0].transcript
    t.wait_for(r"^\[ovm\] vm\d+ linux: guest 'linux', level NRT, supervisor mode, .* cores 0x1$", 5)
    t.wait_for(r"^\[ovm\] vm\d+ srt: guest 'srt_vfp', level SRT, user mode, .* cores 0x1$", 5)
    t.wait_for(r"^\[ovm\] core1: handed over to HRT hrt vcpu0, no OVM tick on this core$", 5)
    t.wait_for(r"^\[ovm\] core0: scheduling 2 vCPU\(s\), tickless, first srt vcpu0$", 5)


@pytest.mark.qemu
def test_linux_is_debians_kernel_on_one_core(linux_host):
    _, shell = linux_host
    release = debian_release()
    assert shell.run_check("uname -r") == [release]
    assert shell.run_check("grep -c ^processor /proc/cpuinfo") == ["1"]


@pytest.mark.qemu
def test_vfp_state_never_leaks_between_linux_and_the_srt(linux_host):
    strategy, shell = linux_host
    assert {"vfp", "neon"} <= cpu_features(shell)
    jobs_before = max((int(m["jobs"]) for m in VFP.finditer(strategy.transcript.text)), default=0)
    # A quarter of the default run: Linux has a quarter of the core.
    lines, code = shell.run(f"vfpcheck {VFPCHECK_ITERATIONS}", timeout=300)
    match = vfpcheck_summary(lines)
    assert code == 0, lines
    # Linux's: every iteration's registers as it left them, the result exact.
    assert match[2] == "0" and match[3] == match[4]
    # The SRT's: a report covering jobs run while vfpcheck ran, no register changed.
    wait_until(lambda: any(int(m["jobs"]) > jobs_before
                           for m in VFP.finditer(strategy.transcript.text)),
               SRT_REPORT_S, "an SRT vfp report after vfpcheck")
    reports = list(VFP.finditer(strategy.transcript.text))
    assert reports and all(m["changed"] == "0" and int(m["checks"]) > 0 for m in reports)


@pytest.mark.qemu
def test_the_hrt_measures_on_through_linuxs_boot(linux_host, pytestconfig):
    strategy, _ = linux_host
    seen = len(rounds(strategy.transcript.text))
    wait_until(lambda: len(rounds(strategy.transcript.text)) >= seen + 2, 120.0,
               "two HRT rounds after Linux's boot")
    every = rounds(strategy.transcript.text)
    # Numbered from 1 without a gap, each a whole round whose distribution adds up.
    assert [r["round"] for r in every] == list(range(1, len(every) + 1))
    for r in every:
        counted = r["other"] + sum(v for k, v in r.items() if k.startswith("at_"))
        assert r["n"] == counted == 1000 and r["min"] <= r["max"]
    report(pytestconfig, f"[linux host] HRT rounds: {len(every)}, latency "
                         f"{min(r['min'] for r in every)}-{max(r['max'] for r in every)} ticks "
                         f"(QEMU's turns between its cores; native 16)")


@pytest.mark.qemu
def test_srt_deadlines_are_accounted_with_linux_loaded(linux_host, pytestconfig):
    strategy, shell = linux_host
    # Each command runs in a shell of its own (LinuxShell.run): the loop is found by its pid.
    shell.run_check(f"({LOAD}) >/dev/null 2>&1 & echo $! > {LOAD_PID}")
    try:
        start = deadline_reports(strategy.transcript.text)[-1]
        wait_until(lambda: deadline_reports(strategy.transcript.text)[-1]["jobs"]
                   >= start["jobs"] + 10_000, SRT_REPORT_S, "10,000 SRT jobs with Linux loaded")
        end = deadline_reports(strategy.transcript.text)[-1]
        # The load was still running at the end.
        shell.run_check(f"kill -0 $(cat {LOAD_PID})", timeout=60)
    finally:
        shell.run(f"kill $(cat {LOAD_PID})", timeout=60)
    periods, misses = end["jobs"] - start["jobs"], end["misses"] - start["misses"]
    report(pytestconfig, f"[linux host] SRT with Linux loaded (hackbench): {periods} periods, "
                         f"{misses} deadline misses (QEMU's turns between its cores: "
                         f"docs/linux-host.md)")
    assert periods >= 10_000
    # OVM counted every job done, and signalled misses (coalesced while the handler ran).
    assert end["done"] == end["jobs"]
    assert end["runs"] <= end["misses"]
