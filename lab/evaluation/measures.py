"""From probe samples to figures: time bases, statistics, and switch pairing.

Probes report raw timer ticks. Under QEMU's ``-icount`` one instruction is
2^shift ns of virtual time, so a latency is also a count of instructions,
exact and repeatable; on a board the ticks are real time. Every figure here
keeps both readings apart by name (``*_ns`` and ``*_instructions``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Percentiles the summary reports beside min, mean and max.
PERCENTILES = (50, 99)
# OVM's console sharing promises a line of a VM within its share is out within this many
# rounds of its newline (ovm/core/io.c): the bound a VM's worst line wait is held to.
CONSOLE_BOUND_ROUNDS = 2


@dataclass(frozen=True)
class Timebase:
    """How to read the timer ticks of one target."""

    timer_hz: int
    icount_shift: int | None  # None: real time (a board, or QEMU without icount)

    def ns(self, ticks: np.ndarray) -> np.ndarray:
        return np.asarray(ticks, dtype=np.float64) * (1e9 / self.timer_hz)


def stats(values_ns: np.ndarray, timebase: Timebase) -> dict[str, object]:
    """n, min, mean, max and percentiles in ns; in instructions too under icount."""
    values = np.asarray(values_ns, dtype=np.float64)
    if values.size == 0:
        return {"n": 0}
    figures: dict[str, object] = {
        "n": int(values.size),
        "min": _round(values.min()),
        "mean": _round(values.mean()),
        "max": _round(values.max()),
        **{f"p{p}": _round(np.percentile(values, p)) for p in PERCENTILES},
    }
    if timebase.icount_shift is not None:
        per_instruction = float(2**timebase.icount_shift)
        figures["instructions"] = {
            key: _round(figures[key] / per_instruction) for key in ("min", "mean", "max", "p99")
        }
    return figures


def _round(value: float) -> float:
    # One decimal: enough for a 10 ns tick, and stable text from run to run.
    return round(float(value), 1)


def unwrap32(stamps: np.ndarray) -> np.ndarray:
    """Global-timer low words in order, made monotonic across 32-bit wraps."""
    values = np.asarray(stamps, dtype=np.int64)
    wraps = np.concatenate([[0], np.cumsum(np.diff(values) < 0)])
    return values + wraps * (1 << 32)


@dataclass(frozen=True)
class SwitchSamples:
    """vCPU switches on the shared core, in ticks, from the two probes' timestamps."""

    # SRT -> NRT through the SRT's vm_exit: its last read to the NRT's first.
    yielding: np.ndarray
    # NRT -> SRT at the SRT's release (OVM's timer event, EDF pick, switch):
    # the NRT's last read to the SRT's first.
    preempting: np.ndarray
    # SRT jobs with no NRT gap around them (the NRT did not run between two jobs).
    unpaired: int


def pair_switches(
    switch_in: np.ndarray, switch_out: np.ndarray, gap_begin: np.ndarray, gap_end: np.ndarray
) -> SwitchSamples:
    """Pair each SRT job [switch_in, switch_out] with the NRT gap that contains it.

    A gap is time the NRT did not run. The job's switch-in follows the gap's
    begin, its switch-out precedes the gap's end; only jobs inside one gap
    count, as then nothing else ran between the two timestamps of a switch.
    """
    job_in, job_out = unwrap32(switch_in), unwrap32(switch_out)
    begins, ends = unwrap32(gap_begin), unwrap32(gap_end)
    if job_in.size != job_out.size or begins.size != ends.size:
        raise ValueError("switch_in/switch_out and gap_begin/gap_end must pair up")
    # The two series share one clock; align their wrap counts at the first stamp.
    offset = _wrap_offset(begins, job_in)
    begins, ends = begins + offset, ends + offset
    gap = np.searchsorted(begins, job_in, side="right") - 1
    inside = (gap >= 0) & (job_out <= ends[np.clip(gap, 0, None)])
    return SwitchSamples(
        yielding=ends[gap[inside]] - job_out[inside],
        preempting=job_in[inside] - begins[gap[inside]],
        unpaired=int((~inside).sum()),
    )


def _wrap_offset(reference: np.ndarray, other: np.ndarray) -> int:
    if reference.size == 0 or other.size == 0:
        return 0
    difference = int(other[0]) - int(reference[0])
    return int(round(difference / (1 << 32))) * (1 << 32)
