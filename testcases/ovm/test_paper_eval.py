"""The paper's setup on a target (scenario paper-eval): an HRT guest alone on
core 1 with its own timer interrupt, an SRT periodic task and the NRT host
sharing core 0. Checks what OVM's CPU, interrupt and memory virtualization
promise; nothing here depends on QEMU."""

from __future__ import annotations

import re

import pytest

from lab.target.records import parse_records, values_line

pytestmark = pytest.mark.lab

BOOT_S = 30.0
# 10,000 periods of 1 ms, in virtual time; under icount that is a few seconds.
SRT_REPORT_S = 240.0
OVM_E_INVAL, OVM_E_PERM, OVM_E_FAULT = -3, -2, -4
HRT_CORE, SHARED_CORE = 1, 0


@pytest.fixture(scope="module")
def paper_eval(boot_scenario):
    return boot_scenario("paper-eval")


def info_lines(transcript, kind: str) -> list[re.Match[str]]:
    return list(re.finditer(rf"^\[nrt\] info: {kind} .*$", transcript.text, re.MULTILINE))


def test_vms_are_created_with_their_levels_memory_and_cores(paper_eval):
    t = paper_eval.transcript
    hrt = t.wait_for(r"^\[ovm\] vm\d+ hrt: guest 'hrt', level HRT, supervisor mode, "
                     r"memory (?P<base>0x[0-9a-f]+)-\S+ "
                     r"\((?P<super>\d+) supersections, (?P<sections>\d+) sections\), cores 0x2$", BOOT_S)
    assert int(hrt["base"], 16) % (16 << 20) == 0
    assert (int(hrt["super"]), int(hrt["sections"])) == (1, 0)
    # Isolated: in user mode under OVM's shim.
    t.wait_for(r"^\[ovm\] vm\d+ srt: guest 'srt', level SRT, user mode, .* cores 0x1$", BOOT_S)
    t.wait_for(r"^\[ovm\] vm\d+ nrt: guest 'nrt', level NRT, user mode, .* cores 0x1$", BOOT_S)


def test_hrt_core_is_handed_over_without_an_ovm_tick(paper_eval):
    paper_eval.transcript.wait_for(
        rf"^\[ovm\] core{HRT_CORE}: handed over to HRT hrt vcpu0, no OVM tick on this core$", BOOT_S
    )
    paper_eval.transcript.wait_for(
        rf"^\[ovm\] core{SHARED_CORE}: scheduling 2 vCPU\(s\), periodic tick, first srt vcpu0$", BOOT_S
    )


def test_hrt_timer_interrupts_never_enter_ovm(paper_eval):
    match = paper_eval.transcript.wait_for(
        rf"^\[hrt\] core {HRT_CORE}: (?P<n>\d+) timer interrupts taken directly; OVM entries during "
        r"the loop: smc (?P<smc>\d+) fiq (?P<fiq>\d+) irq (?P<irq>\d+); latency (?P<lo>\d+)-(?P<hi>\d+) ticks$",
        BOOT_S,
    )
    assert int(match["n"]) == 1000
    assert (int(match["smc"]), int(match["fiq"]), int(match["irq"])) == (0, 0, 0)


def test_info_lists_vms_levels_and_cores(paper_eval):
    t = paper_eval.transcript
    t.wait_for(r"^\[nrt\] info: core 1 .*$", BOOT_S)
    vms = {m.group(0).split()[4]: m.group(0) for m in info_lines(t, "vm")}
    assert set(vms) == {"hrt", "srt", "nrt"}
    assert "level HRT cores 0x2" in vms["hrt"]
    assert "level SRT cores 0x1" in vms["srt"]
    assert "level NRT cores 0x1" in vms["nrt"]
    cores = [m.group(0) for m in info_lines(t, "core")]
    assert "level SRT ticking" in cores[SHARED_CORE]
    assert "level HRT no-tick" in cores[HRT_CORE]
    assert re.search(r"entries smc \d+ fiq 0 irq 0$", cores[HRT_CORE])


def test_bad_hypercalls_get_error_codes_and_guests_keep_running(paper_eval):
    t = paper_eval.transcript
    nrt = t.wait_for(
        r"^\[nrt\] bad calls refused: info out of grant -> (?P<grant>-?\d+), info short buffer -> "
        r"(?P<short>-?\d+), set_realtime_info from NRT -> (?P<level>-?\d+), eoi never acked -> "
        r"(?P<eoi>-?\d+), stats of core 99 -> (?P<core>-?\d+)$", BOOT_S)
    assert [int(nrt[k]) for k in ("grant", "short", "level", "eoi", "core")] == [
        OVM_E_FAULT, OVM_E_INVAL, OVM_E_PERM, OVM_E_INVAL, OVM_E_INVAL]
    srt = t.wait_for(
        r"^\[srt\] bad parameters refused: budget 0 -> (?P<zero>-?\d+), budget > deadline -> "
        r"(?P<over>-?\d+), period below minimum -> (?P<short>-?\d+), info \(host only\) -> (?P<info>-?\d+)$",
        BOOT_S)
    assert [int(srt[k]) for k in ("zero", "over", "short", "info")] == [
        OVM_E_INVAL, OVM_E_INVAL, OVM_E_INVAL, OVM_E_PERM]
    hrt = t.wait_for(r"^\[hrt\] control loop on core 1, period 100 us; host-only info -> (?P<s>-?\d+)$", BOOT_S)
    assert int(hrt["s"]) == OVM_E_PERM
    t.wait_for(r"^\[nrt\] progress 2: \d+ iterations in the last second$", SRT_REPORT_S)
    t.wait_for(r"^\[hrt\] progress: 100000 periods$", SRT_REPORT_S)


def test_srt_at_90_percent_with_nrt_busy_meets_every_deadline(paper_eval):
    t = paper_eval.transcript
    declared = t.wait_for(
        r"^\[srt\] set_realtime_info\(D=1000, T=1000, C=(?P<c>\d+) us\) -> (?P<s>-?\d+);", BOOT_S)
    assert int(declared["s"]) == 0
    assert int(declared["c"]) / 1000 == 0.9
    t.wait_for(values_line("srt", "deadline"), SRT_REPORT_S)
    report = parse_records(t.text).values_of("deadline", "srt")
    assert report["jobs"] == 10000 and report["done"] >= 10000
    assert (report["misses"], report["handler_runs"]) == (0, 0)
    nrt = t.wait_for(r"^\[nrt\] progress 1: (?P<n>\d+) iterations in the last second$", SRT_REPORT_S)
    assert int(nrt["n"]) > 0



def test_hrt_latency_samples_arrive_as_a_complete_record_series(paper_eval):
    paper_eval.transcript.wait_for(r"^\[hrt\] @ovm1 E irq_latency\.HRT n=1000 #[0-9a-f]{8}$", BOOT_S)
    parsed = parse_records(paper_eval.transcript.text)
    samples = parsed.samples("irq_latency.HRT", vm="hrt")
    assert len(samples) == 1000
    assert parsed.meta[("hrt", "irq_latency.HRT")]["unit"] == "ticks"
    assert parsed.rejected == []
    assert parsed.foreign_lines > 0
    # Ticks of 10 ns from expiry to the handler's read: a handful of instructions at best.
    assert 0 < samples["value"].min() < 50
