"""From probe samples to figures: switch pairing, and the console's bound.

Time bases and statistics are the results' own (``lab.results.statistics``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# OVM's console sharing promises a line of a VM within its share is out within this many
# rounds of its newline (ovm/core/io.c): the bound a VM's worst line wait is held to.
CONSOLE_BOUND_ROUNDS = 2


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
    # SRT jobs not alone in an NRT gap (the NRT did not run between two jobs).
    unpaired: int


def pair_switches(
    switch_in: np.ndarray, switch_out: np.ndarray, gap_begin: np.ndarray, gap_end: np.ndarray
) -> SwitchSamples:
    """Pair each SRT job [switch_in, switch_out] with the NRT gap that contains it.

    A gap is time the NRT did not run. The job's switch-in follows the gap's
    begin, its switch-out precedes the gap's end; only a job alone inside one
    gap counts, as then nothing else ran between the two timestamps of a
    switch (two jobs in one gap: the NRT did not run between them).
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
    jobs_in_gap = np.bincount(gap[inside], minlength=begins.size)
    inside &= jobs_in_gap[np.clip(gap, 0, None)] == 1
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
