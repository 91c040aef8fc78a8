"""EDF admission for one core, on exact fractions.

The processor-demand test (Baruah, Rosier, Howell): a set of periodic tasks
with deadlines no longer than their periods is EDF-schedulable on one core iff
its utilization is at most 1 and, at every absolute deadline t, the work due by
t is at most t. With implicit deadlines (D = T) the second part follows from the
first. ovm/core/admission.c is the same test in integer arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction


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
class Admitted:
    utilization: Fraction


Verdict = Admitted | Overload | DemandExceeded


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
