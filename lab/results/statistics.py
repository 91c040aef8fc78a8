"""Figures of a distribution: n, min, mean, max and percentiles, in ns and in instructions.

Probes report raw timer ticks. Under QEMU's ``-icount`` one instruction is
2^shift ns of virtual time, so a latency is also a count of instructions,
exact and repeatable; on a board the ticks are real time. Every figure here
keeps both readings apart by name (``*_ns`` and ``instructions``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Percentiles the summary reports beside min, mean and max.
PERCENTILES = (50, 99)


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
        in_ns = {"min": values.min(), "mean": values.mean(), "max": values.max(),
                 "p99": np.percentile(values, 99)}
        figures["instructions"] = {
            key: _round(_round(value) / per_instruction) for key, value in in_ns.items()
        }
    return figures


def _round(value: float) -> float:
    # One decimal: enough for a 10 ns tick, and stable text from run to run.
    return round(float(value), 1)
