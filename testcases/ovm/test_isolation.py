"""Isolation against a hostile guest (scenario hostile) and enforced budgets
(scenario srt-hog). The attacker's own report only says what it tried; whether
it got anywhere is judged by the others: the SRT neighbour's deadlines, its
canary and OVM's integrity check (HC_SELF_CHECK) as the SRT guest runs them,
and the HRT guest's latencies beside paper-eval's, where no guest attacks."""

from __future__ import annotations

import re

import pytest

from lab.target.records import parse_records, values_line

pytestmark = pytest.mark.lab

BOOT_S = 30.0
REPORT_S = 240.0
# Under QEMU the cores take turns; a sample can wait for the other core's turn, so the
# worst case varies between runs. The distribution's body is exact under icount.
HRT_QUANTILES = (0.0, 0.5, 0.9, 0.99)


@pytest.fixture(scope="module")
def hostile(boot_scenario):
    return boot_scenario("hostile")


@pytest.fixture(scope="module")
def hog(boot_scenario):
    return boot_scenario("srt-hog")


def attacker_line(transcript, pattern: str) -> re.Match[str]:
    return transcript.wait_for(rf"^\[attacker\] hostile: {pattern}$", REPORT_S)


def test_every_attack_faults_or_is_refused(hostile):
    t = hostile.transcript
    t.wait_for(r"^\[ovm\] vm\d+ attacker: guest 'hostile', level NRT, user mode, .*$", BOOT_S)
    cp15 = attacker_line(t, r"cp15 writes: (?P<w>\d+) tried, (?P<wf>\d+) faulted; reads: "
                            r"(?P<r>\d+) tried, (?P<rf>\d+) faulted")
    assert cp15["w"] == cp15["wf"] and cp15["r"] == cp15["rf"] and int(cp15["w"]) >= 17
    mode = attacker_line(t, r"mode and masks: 4 changes tried, (?P<n>\d+) took effect "
                            r"\(cpsr (?P<cpsr>0x[0-9a-f]+)\); smc: 1 tried, (?P<smc>\d+) faulted")
    # User mode, FIQs (OVM's) unmasked, as OVM started it.
    assert int(mode["n"]) == 0 and int(mode["cpsr"], 16) & 0x5f == 0x10 and mode["smc"] == "1"
    memory = attacker_line(
        t, r"memory outside its own: (?P<r>\d+) reads, (?P<rf>\d+) faulted, (?P<else>\d+) read "
           r"outside the private region's read-only page; (?P<w>\d+) writes, (?P<wf>\d+) faulted; "
           r"(?P<j>\d+) jumps, (?P<jf>\d+) faulted")
    # Two places in each of 4096 sections, less the attacker's own 4 MiB.
    assert int(memory["r"]) == 2 * 4096 - 8
    assert int(memory["r"]) - int(memory["rf"]) == 1 and memory["else"] == "0"
    assert memory["w"] == memory["wf"] == memory["j"] == memory["jf"] == memory["r"]
    devices = attacker_line(
        t, r"distributor writes: (?P<d>\d+) tried, (?P<df>\d+) faulted; cpu interface: (?P<c>\d+) "
           r"tried, (?P<cf>\d+) faulted, (?P<iar>\d+) of 16 IAR reads gave an interrupt; timers: "
           r"(?P<t>\d+) tried, (?P<tf>\d+) faulted; scu: (?P<s>\d+) tried, (?P<sf>\d+) faulted")
    for kind in "dcts":
        assert devices[kind] == devices[kind + "f"] and int(devices[kind]) > 0
    assert devices["iar"] == "0"
    lines = attacker_line(t, r"eoi of lines 0-95 never taken: (?P<eoi>\d+) accepted; ungranted OVM "
                             r"devices: (?P<io>\d+) accesses, (?P<ok>\d+) accepted")
    assert lines["eoi"] == "0" and lines["ok"] == "0" and int(lines["io"]) > 0


def test_fuzzed_hypercalls_get_the_right_answers_and_keep_every_register(hostile):
    fuzz = attacker_line(hostile.transcript,
                         r"(?P<n>\d+) fuzzed hypercalls: (?P<wrong>\d+) answered wrong, (?P<clob>\d+) "
                         r"changed a register not theirs; .*")
    assert int(fuzz["n"]) == 100000
    assert (fuzz["wrong"], fuzz["clob"]) == ("0", "0")


def test_neighbours_keep_deadlines_canaries_and_ovm_intact_under_attack(hostile):
    t = hostile.transcript
    attacker_line(t, r"round 1 done at \d+ ms: .*, 0 calls answered wrong or clobbering")
    t.wait_for(values_line("srt", "deadline"), REPORT_S)
    report = parse_records(t.text).values_of("deadline", "srt")
    assert report["jobs"] == 10000 and report["done"] >= 10000
    assert (report["misses"], report["handler_runs"]) == (0, 0)
    integrity = t.wait_for(r"^\[srt\] integrity: (?P<changed>\d+) of (?P<chunks>\d+) OVM chunks "
                           r"changed since boot; canary: (?P<words>\d+) of 1024 words changed$",
                           REPORT_S)
    assert integrity["changed"] == "0" and int(integrity["chunks"]) > 0
    assert integrity["words"] == "0"
    # The attack went on across the SRT guest's counted periods (1 s to 11 s after its
    # start): some round ended after them, and OVM outlived it.
    ends = (attacker_line(t, rf"round {n} done at (?P<ms>\d+) ms: .*, 0 calls answered wrong or "
                             "clobbering") for n in range(3, 10))
    assert any(int(end["ms"]) > 11000 for end in ends)
    assert "halted" not in t.text


def test_hrt_latency_is_as_without_an_attacker(hostile, boot_scenario):
    hostile.transcript.wait_for(r"^\[hrt\] @ovm1 E irq_latency\.HRT n=1000 #[0-9a-f]{8}$", REPORT_S)
    attacked = parse_records(hostile.transcript.text).samples("irq_latency.HRT", vm="hrt")["value"]
    reference = boot_scenario("paper-eval")
    reference.transcript.wait_for(r"^\[hrt\] @ovm1 E irq_latency\.HRT n=1000 #[0-9a-f]{8}$", BOOT_S)
    calm = parse_records(reference.transcript.text).samples("irq_latency.HRT", vm="hrt")["value"]
    assert len(attacked) == len(calm) == 1000
    assert [attacked.quantile(q) for q in HRT_QUANTILES] == [calm.quantile(q) for q in HRT_QUANTILES]


def test_a_job_that_never_ends_is_throttled_and_its_neighbour_misses_nothing(hog):
    t = hog.transcript
    declared = t.wait_for(r"^\[hog\] set_realtime_info\(D=1000, T=1000, C=1000 us\) -> (?P<s>-?\d+);",
                          BOOT_S)
    assert int(declared["s"]) == -5
    t.wait_for(values_line("srt", "deadline"), REPORT_S)
    report = parse_records(t.text).values_of("deadline", "srt")
    assert report["jobs"] == 10000 and (report["misses"], report["handler_runs"]) == (0, 0)
    # The host's lists: the hog throttled at its budget in every period it ran.
    pattern = (r"^\[nrt\] info: vcpu 1 vm 1\.0 core 0 (?P<state>\w+) misses (?P<misses>\d+) "
               r"jobs (?P<jobs>\d+) rt 1000/1000/50 us overruns (?P<overruns>\d+)$")
    t.wait_for(r"^\[nrt\] progress 11: .*$", REPORT_S)
    hog_lists = list(re.finditer(pattern, t.text, re.MULTILINE))
    last = hog_lists[-1]
    overruns, misses = int(last["overruns"]), int(last["misses"])
    # Its first second went to start-up jobs; then 1,000 periods a second, each overrun.
    assert overruns >= 9000 and overruns - misses in (0, 1)
    # Lists at start-up, 5 s and 10 s: no job of the hog's ended between the last two.
    assert len(hog_lists) >= 3 and last["jobs"] == hog_lists[-2]["jobs"]
    ours = re.findall(r"^\[nrt\] info: vcpu 0 vm 0\.0 core 0 \w+ misses (\d+) .* overruns (\d+)$",
                      t.text, re.MULTILINE)
    assert len(ours) >= 3 and all(m == "0" and o == "0" for m, o in ours)
