"""EDF admission for one core: the exact test, and OVM's bounded version of it.

The processor-demand test (Baruah, Rosier, Howell): a set of periodic tasks
with deadlines no longer than their periods is EDF-schedulable on one core iff
its utilization is at most 1 and, at every absolute deadline t, the work due by
t is at most t. With implicit deadlines (D = T) the second part follows from the
first. `edf_admission` is that test on exact fractions. OVM runs it with its
interrupts masked for any guest's parameters, so ovm/core/admission.c bounds
its work: a set whose density is at most 1 is admitted at once, and the demand
is checked at no more than ADMISSION_MAX_POINTS deadlines. `ovm_admission` is
that same algorithm, integer for integer, so that the tooling refuses at build
time what OVM would refuse at boot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from .limits import ADMISSION_H, c_define

# Deadlines ovm/core/admission.c checks the demand at, at most.
MAX_POINTS = c_define(ADMISSION_H, "ADMISSION_MAX_POINTS")
# Its fixed points and cap.
_ONE_FP32 = 1 << 32
_ONE_FP20 = 1 << 20
_HYPERPERIOD_EXACT_CAP = 1 << 60


@dataclass(frozen=True)
class RtTask:
    """A periodic task: every `period`, a job of `budget` due `deadline` after its release."""

    deadline: int
    period: int
    budget: int

    @property
    def utilization(self) -> Fraction:
        return Fraction(self.budget, self.period)


@dataclass(frozen=True)
class Overload:
    """Refused: the tasks want more than the whole core."""

    utilization: Fraction


@dataclass(frozen=True)
class DemandExceeded:
    """Refused: more work is due by `interval` than fits in it."""

    utilization: Fraction
    interval: int
    demand: int


@dataclass(frozen=True)
class TooCostly:
    """Refused by OVM's bounded test: proving it needs more than MAX_POINTS deadlines."""

    utilization: Fraction


@dataclass(frozen=True)
class Admitted:
    utilization: Fraction


Verdict = Admitted | Overload | DemandExceeded | TooCostly


def utilization(tasks: Sequence[RtTask]) -> Fraction:
    return sum((task.utilization for task in tasks), Fraction(0))


def demand(tasks: Sequence[RtTask], interval: int) -> int:
    """Work of the jobs released and due inside [0, interval], all released at 0."""
    return sum(
        ((interval - task.deadline) // task.period + 1) * task.budget
        for task in tasks
        if task.deadline <= interval
    )


def demand_horizon(tasks: Sequence[RtTask]) -> int:
    """Past this interval no deadline can be the first one to fail (needs utilization <= 1).

    Below 1 it is sum((T_i - D_i) U_i) / (1 - U): a task's demand in [0, t] is
    at most U_i (t + T_i - D_i), so beyond that the total is at most t. (The
    often quoted max with D_max only adds deadlines to check.) At exactly 1 the
    excess demand repeats every hyperperiod, so one hyperperiod is enough.
    """
    total = utilization(tasks)
    if total == 1:
        return math.lcm(*(task.period for task in tasks))
    slack_weighted = sum((task.period - task.deadline) * task.utilization for task in tasks)
    return math.floor(slack_weighted / (1 - total))


def edf_admission(tasks: Sequence[RtTask]) -> Verdict:
    total = utilization(tasks)
    if total > 1:
        return Overload(total)
    if not tasks or all(task.deadline == task.period for task in tasks):
        return Admitted(total)
    horizon = demand_horizon(tasks)
    deadlines = sorted({
        deadline
        for task in tasks
        for deadline in range(task.deadline, horizon + 1, task.period)
    })
    for interval in deadlines:
        due = demand(tasks, interval)
        if due > interval:
            return DemandExceeded(total, interval, due)
    return Admitted(total)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _hyperperiod(periods: Sequence[int], cap: int) -> int:
    """Their least common multiple, or 0 past `cap` (as admission.c's hyperperiod)."""
    lcm = 1
    for period in periods:
        step = period // math.gcd(lcm, period)
        if step > cap // lcm:
            return 0
        lcm *= step
    return lcm


def ovm_admission(tasks: Sequence[RtTask], ticks_per_us: int = 1) -> Verdict:
    """ovm/core/admission.c's verdict on tasks in us, on a board whose timer counts
    `ticks_per_us` (OVM works in its ticks, which its rounding sees)."""
    total = utilization(tasks)
    ticks = [RtTask(t.deadline * ticks_per_us, t.period * ticks_per_us, t.budget * ticks_per_us)
             for t in tasks]
    u = sum(_ceil_div(t.budget << 32, t.period) for t in ticks)
    if u > _ONE_FP32:
        h = _hyperperiod([t.period for t in ticks], _HYPERPERIOD_EXACT_CAP)
        exact_fits = h != 0 and sum(t.budget * (h // t.period) for t in ticks) <= h
        if not (u - _ONE_FP32 <= len(ticks) and exact_fits):
            return Overload(total)
    if all(t.deadline == t.period for t in ticks):
        return Admitted(total)
    if sum(_ceil_div(t.budget << 32, t.deadline) for t in ticks) <= _ONE_FP32:
        return Admitted(total)
    terms = [_ceil_div(t.budget << 20, t.period) for t in ticks]
    if sum(terms) >= _ONE_FP20:
        bound = _hyperperiod([t.period for t in ticks], MAX_POINTS * ticks[0].period)
    else:
        weighted = sum((t.period - t.deadline) * term for t, term in zip(ticks, terms))
        bound = _ceil_div(weighted, _ONE_FP20 - sum(terms))
    if bound == 0:
        return TooCostly(total)
    due, points = 0, 0
    upcoming = [t.deadline for t in ticks]
    while (at := min(upcoming)) <= bound:
        if points == MAX_POINTS:
            return TooCostly(total)
        points += 1
        for index, t in enumerate(ticks):
            if upcoming[index] == at:
                due += t.budget
                upcoming[index] += t.period
        if due > at:
            return DemandExceeded(total, at // ticks_per_us, due // ticks_per_us)
    return Admitted(total)
