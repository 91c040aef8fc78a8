"""cyclictest on Linux's console: the command, and its ``--json`` file read into ns.

The file's layout is the one lab.results.cyclictest writes (its docstring
describes it); its constants are used from there. Debian 12's rt-tests 2.4
has ``--nsecs`` (``-N``), so latencies come in ns, and ``-h`` for the
histogram the 99th percentile is read from. It has no ``-n`` any more
(clock_nanosleep is its default; 2.4 refuses the option).

**Cost of the histogram.** cyclictest prints the histogram when it ends,
every bucket from 0 to ``-h`` whether empty or not (to ``--histfile``,
``/dev/null`` here). At the default ``-h`` (1,000,000 ns buckets, the most
cyclictest takes) that is about 26 s of QEMU's virtual time, 4 s of wall
time here, after the measurement; a smaller ``histogram_ns`` costs
proportionally less but counts every latency at or above it as an overflow.

**p99** is the bucket (latency truncated to the unit, as cyclictest counts)
in which the 99th percentile sample lies, rank ceil(0.99 n); None when no
histogram was asked for, or when that sample is an overflow.
"""

from __future__ import annotations

import json
import math
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from lab.results.cyclictest import FILE_VERSION, HIST_MAX, UNITS_NS

from . import LinuxUserError

JSON_PATH = "/tmp/cyclictest.json"
P99 = 0.99


class CyclictestFormatError(LinuxUserError):
    """A cyclictest --json file that is not what rt-tests writes; the message names where."""


class Shell(Protocol):
    """What run_cyclictest needs of a shell (lab.linux.shell.LinuxShell has it)."""

    def run_check(self, command: str, timeout: float = 30.0) -> list[str]: ...


@dataclass(frozen=True)
class ThreadLatency:
    """One cyclictest thread's latencies, in ns (whole units of the file: ns with --nsecs)."""

    thread: int
    cpu: int
    n: int  # cycles: the samples taken
    min_ns: int
    mean_ns: float
    max_ns: int
    p99_ns: int | None
    overflows: int  # samples at or above the histogram's size (0 without a histogram)
    histogram: dict[int, int] = field(repr=False)  # bucket (ns) -> samples, non-empty only


@dataclass(frozen=True)
class CyclictestRun:
    """A whole --json file: its threads, and what it says about the run."""

    threads: tuple[ThreadLatency, ...]
    unit_ns: int  # 1 with --nsecs, else 1000
    return_code: int
    cmdline: str
    rt_tests_version: str
    sysinfo: dict[str, Any] = field(repr=False)


def cyclictest_command(loops: int, *, interval_us: int = 1000, priority: int = 90,
                       threads: int = 1, histogram_ns: int = HIST_MAX,
                       json_path: str = JSON_PATH, extra: Sequence[str] = (),
                       nsecs: bool = True) -> str:
    """The shell command: memory locked, SCHED_FIFO ``priority``, ``loops`` wake-ups every
    ``interval_us`` per thread, summary only, a histogram up to ``histogram_ns``: in ns
    buckets (``nsecs``, ``histogram_ns`` of them) or in µs buckets (a thousandth as many,
    whose printing costs a thousandth)."""
    buckets = histogram_ns if nsecs else histogram_ns // 1000
    if loops <= 0 or threads <= 0 or not 0 < buckets <= HIST_MAX:
        raise ValueError("loops and threads must be positive, and the histogram 1..HIST_MAX "
                         "buckets (histogram_ns of 1000 or more in µs buckets)")
    unit = ["-N"] if nsecs else []
    words = ["cyclictest", "-m", "-p", str(priority), "-i", str(interval_us), "-l", str(loops),
             "-t", str(threads), "-q", *unit, "-h", str(buckets), "--histfile=/dev/null",
             f"--json={json_path}", *extra]
    return shlex.join(words)


def p99_of(histogram: Mapping[int, int], n: int) -> int | None:
    """The bucket holding the sample of rank ceil(0.99 n), or None (empty, or an overflow)."""
    if n <= 0 or not histogram:
        return None
    rank = math.ceil(P99 * n)
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return bucket
    return None


def _get(document: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in document:
        raise CyclictestFormatError(f"{where}: no {key!r}")
    value = document[key]
    # bool is an int to Python, not to cyclictest.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise CyclictestFormatError(f"{where}: {key!r} is {value!r}, not {kind}")
    return value


def _thread(index: int, entry: Any, unit: int, where: str) -> ThreadLatency:
    if not isinstance(entry, dict):
        raise CyclictestFormatError(f"{where}: not an object")
    raw = _get(entry, "histogram", dict, where)
    histogram: dict[int, int] = {}
    for bucket, count in raw.items():
        if not bucket.isdigit() or not isinstance(count, int) or count < 0:
            raise CyclictestFormatError(
                f"{where}.histogram: {bucket!r}: {count!r} is not a bucket and a count")
        histogram[int(bucket) * unit] = count
    n = _get(entry, "cycles", int, where)
    low, high = _get(entry, "min", int, where), _get(entry, "max", int, where)
    mean = float(_get(entry, "avg", (int, float), where))
    in_buckets = sum(histogram.values())
    if n < 0 or in_buckets > n:
        raise CyclictestFormatError(f"{where}: {in_buckets} samples in the histogram, {n} cycles")
    if n and not low <= mean <= high:
        raise CyclictestFormatError(f"{where}: min {low}, avg {mean}, max {high} are out of order")
    return ThreadLatency(
        thread=index, cpu=_get(entry, "cpu", int, where), n=n, min_ns=low * unit,
        mean_ns=mean * unit, max_ns=high * unit, p99_ns=p99_of(histogram, n),
        overflows=n - in_buckets if histogram else 0, histogram=histogram)


def parse_cyclictest_json(text: str, source: str = "cyclictest --json") -> CyclictestRun:
    """Read a --json file's text; CyclictestFormatError (naming ``source`` and the place) for
    anything else, a file cut short included."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise CyclictestFormatError(f"{source}: not JSON ({error})") from None
    if not isinstance(document, dict):
        raise CyclictestFormatError(f"{source}: not a JSON object")
    version = _get(document, "file_version", int, source)
    if version != FILE_VERSION:
        raise CyclictestFormatError(f"{source}: file_version {version}, not {FILE_VERSION}")
    unit = 1 if _get(document, "resolution_in_ns", int, source) else int(UNITS_NS["us"])
    entries = _get(document, "thread", dict, source)
    count = _get(document, "num_threads", int, source)
    if sorted(entries) != [str(index) for index in range(count)]:
        raise CyclictestFormatError(
            f"{source}: num_threads {count}, threads {sorted(entries)}")
    threads = tuple(_thread(index, entries[str(index)], unit, f"{source}: thread {index}")
                    for index in range(count))
    return CyclictestRun(
        threads=threads, unit_ns=unit,
        return_code=_get(document, "return_code", int, source),
        cmdline=str(document.get("cmdline:", "")),
        rt_tests_version=str(document.get("rt_test_version:", "")),
        sysinfo=dict(document.get("sysinfo") or {}),
    )


def read_cyclictest_json(path: Path) -> CyclictestRun:
    return parse_cyclictest_json(path.read_text(encoding="utf-8"), str(path))


def run_cyclictest(shell: Shell, loops: int, *, interval_us: int = 1000, priority: int = 90,
                   threads: int = 1, histogram_ns: int = HIST_MAX, json_path: str = JSON_PATH,
                   extra: Sequence[str] = (), timeout: float | None = None,
                   nsecs: bool = True) -> CyclictestRun:
    """Run cyclictest through ``shell``, read its file back over the console, parse it.

    ``timeout`` (wall s) defaults to a minute plus twice the run's virtual length; the
    histogram's printing is in the minute (see the module's docstring)."""
    command = cyclictest_command(loops, interval_us=interval_us, priority=priority,
                                 threads=threads, histogram_ns=histogram_ns,
                                 json_path=json_path, extra=extra, nsecs=nsecs)
    wall = timeout if timeout is not None else 60.0 + 2 * loops * interval_us / 1e6
    shell.run_check(command, timeout=wall)
    lines = shell.run_check(f"cat {shlex.quote(json_path)}")
    run = parse_cyclictest_json("\n".join(lines), f"{json_path} of {command!r}")
    if run.return_code != 0:
        raise LinuxUserError(f"{command!r}: its file says return_code {run.return_code}")
    return run
