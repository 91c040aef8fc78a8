"""The linux_host experiment's reading of what it measured, without QEMU: QEMU's ``xp``
answer, the SRT's ring in the order it was written, switchprobe's file, the window of
jobs kept, the summary section and its table lines. The experiment itself (two boots of
Linux, minutes) is testcases/linux/test_linux_host_experiment.py's, under
``make test-long``.
"""

from __future__ import annotations

import numpy as np
import pytest

from lab.evaluation.linux_host import (
    CYCLICTEST_LOOPS,
    DEADLINE_PERIODS,
    LinuxHostError,
    LinuxHostResult,
    cyclictest,
    in_window,
    parse_gaps,
    parse_xp_words,
    ring_stamps,
    same_kernel,
    summary_section,
)
from lab.evaluation.measures import pair_switches
from lab.evaluation.summary import _linux_host_rows
from lab.linux.cyclictest import ThreadLatency, cyclictest_command
from lab.results.statistics import Timebase

TIMEBASE = Timebase(100_000_000, 4)


def test_xp_words_in_order():
    text = ("0000000061101930: 0x00000003 0x0000000a 0x00000014 0x0000001e\r\n"
            "0000000061101940: 0xffffffff 0x00000001\r\n")
    assert parse_xp_words(text) == [3, 10, 20, 30, 0xFFFFFFFF, 1]


def test_an_xp_error_is_said_not_skipped():
    with pytest.raises(LinuxHostError, match="Invalid parameter"):
        parse_xp_words("Invalid parameter 'addr'\r\n")


def test_the_ring_oldest_job_first():
    # 3 slots, 5 jobs written: slot 5 % 3 = 2 is the oldest (job 2), then jobs 3 and 4.
    words = [5, 30, 31, 40, 41, 20, 21]
    first, last = ring_stamps(words, 3)
    assert first.tolist() == [20, 30, 40] and last.tolist() == [21, 31, 41]


def test_a_ring_not_yet_full_has_only_its_jobs():
    first, last = ring_stamps([2, 1, 2, 3, 4, 0, 0], 3)
    assert first.tolist() == [1, 3] and last.tolist() == [2, 4]


def test_a_ring_read_short_is_refused():
    with pytest.raises(LinuxHostError, match="read 4 words of the ring, not 7"):
        ring_stamps([1, 2, 3, 4], 3)


def test_switchprobe_file_and_a_bad_line():
    begins, ends = parse_gaps(["10 20", "4294967290 5"])
    assert begins.tolist() == [10, 4294967290] and ends.tolist() == [20, 5]
    with pytest.raises(LinuxHostError, match="'10 x' is not 'begin end'"):
        parse_gaps(["10 x"])


def test_only_the_jobs_while_the_probe_ran_are_paired_across_a_wrap():
    # The probe's gaps run from 2^32 - 100 over the wrap to 400; jobs before and after it
    # (seconds away in the ring) are left out.
    begins = np.array([2**32 - 100, 300]) % 2**32
    ends = np.array([2**32 - 10, 400]) % 2**32
    first = np.array([2**32 - 5000, 2**32 - 90, 310, 9000]) % 2**32
    last = first + 5
    kept_first, kept_last = in_window(first, last % 2**32, begins, ends)
    assert kept_first.tolist() == [2**32 - 90, 310]
    switches = pair_switches(kept_first, kept_last, begins, ends)
    assert switches.preempting.tolist() == [10, 10]
    assert switches.yielding.tolist() == [75, 85] and switches.unpaired == 0


def test_two_jobs_in_one_gap_are_not_switches():
    # Gap [0, 100] holds one job, gap [200, 400] two (Linux did not run between them), and
    # the job at 500 is in no gap.
    switches = pair_switches(np.array([10, 210, 300, 500]), np.array([90, 290, 390, 590]),
                             np.array([0, 200]), np.array([100, 400]))
    assert switches.preempting.tolist() == [10] and switches.yielding.tolist() == [10]
    assert switches.unpaired == 3


def _thread(n: int = CYCLICTEST_LOOPS, low: int = 20_000, high: int = 90_000) -> ThreadLatency:
    return ThreadLatency(thread=0, cpu=0, n=n, min_ns=low, mean_ns=(low + high) / 2,
                         max_ns=high, p99_ns=high, overflows=0, histogram={low: n})


def _result(periods: int = DEADLINE_PERIODS, paired: int = 3) -> LinuxHostResult:
    stamps = np.arange(paired, dtype=np.int64) * 100_000
    switches = pair_switches(stamps + 10, stamps + 50, stamps, stamps + 60)
    return LinuxHostResult("6.1.0-57-armmp", _thread(), _thread(high=750_000), switches,
                           periods, 3, periods, {"linux_host": "abc123"})


def test_the_summary_section_has_the_agreed_keys():
    section = summary_section(_result(), TIMEBASE, 4)
    assert section["kernel"] == "6.1.0-57-armmp"
    assert section["timing"]["timing"] == "icount" and section["timing"]["icount_shift"] == 4
    assert section["timing"]["repeatable"] is False
    for side in ("native", "ovm"):
        assert set(section["cyclictest_ns"][side]) >= {"n", "min", "mean", "max", "p99"}
    assert section["cyclictest_ns"]["ovm"]["max"] == 750_000.0
    for direction, ns in (("to_linux", 100.0), ("to_srt", 100.0)):
        figures = section["context_switch_ns"][direction]
        assert figures["n"] == 3 and figures["min"] == figures["max"] == ns  # 10 ticks
    assert section["deadline"] == {"periods": DEADLINE_PERIODS, "misses": 3,
                                   "done": DEADLINE_PERIODS}
    assert "switchprobe" in section["method"]


def test_too_few_periods_or_no_switch_fails_the_experiment():
    with pytest.raises(LinuxHostError, match="SRT periods"):
        summary_section(_result(periods=DEADLINE_PERIODS - 1), TIMEBASE, 4)
    with pytest.raises(LinuxHostError, match="no SRT job fell inside"):
        summary_section(_result(paired=0), TIMEBASE, 4)


def test_the_table_shows_the_linux_host_lines():
    section = summary_section(_result(), TIMEBASE, 4)
    rows = dict(_linux_host_rows(section))
    assert rows["Linux host: cyclictest under OVM"] == "20000/385000/750000, p99 750000 (n=2000)"
    assert rows["Linux host: SRT, Linux loaded"] == f"3 misses in {DEADLINE_PERIODS} periods"
    assert "timing=icount" in rows["Linux host: kernel, timing"]


def test_native_and_ovm_kernels_must_be_the_same():
    assert same_kernel("6.1.0-57-armmp", "6.1.0-57-armmp") == "6.1.0-57-armmp"
    with pytest.raises(LinuxHostError, match="not the same kernel"):
        same_kernel("6.1.0-57-armmp", "6.1.0-58-armmp")


def test_cyclictest_in_us_buckets():
    command = cyclictest_command(10, interval_us=997, histogram_ns=5_000_000, nsecs=False)
    assert " -N " not in command and "-h 5000 " in command and "-i 997" in command
    assert "-N -h 1000000 " in cyclictest_command(10)
    with pytest.raises(ValueError):
        cyclictest_command(10, histogram_ns=999, nsecs=False)


def test_a_cyclictest_of_the_wrong_length_is_refused():
    class OneShell:
        def __init__(self, loops: int) -> None:
            self.loops = loops

        def run_check(self, command: str, timeout: float = 30.0) -> list[str]:
            if command.startswith("cat "):
                return [('{"file_version": 1, "resolution_in_ns": 0, "num_threads": 1, '
                         '"return_code": 0, "thread": {"0": {"histogram": {"20": %d}, '
                         '"cycles": %d, "min": 20, "max": 20, "avg": 20.0, "cpu": 0}}}')
                        % (self.loops, self.loops)]
            return []

    assert cyclictest(OneShell(CYCLICTEST_LOOPS), "here").min_ns == 20_000  # type: ignore[arg-type]
    with pytest.raises(LinuxHostError, match="here: cyclictest ran 5 loops"):
        cyclictest(OneShell(5), "here")  # type: ignore[arg-type]
