"""EDF admission on exact fractions (lab.firmware.admission)."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lab.firmware.admission import (
    Admitted,
    DemandExceeded,
    Overload,
    RtTask,
    Verdict,
    demand,
    demand_horizon,
    edf_admission,
)


@pytest.mark.parametrize(
    ("tasks", "verdict"),
    [
        ([], Admitted(Fraction(0))),
        # Implicit deadlines: exactly a full core is fine, a little more is not.
        ([RtTask(10, 10, 5), RtTask(20, 20, 10)], Admitted(Fraction(1))),
        ([RtTask(10, 10, 6), RtTask(20, 20, 10)], Overload(Fraction(11, 10))),
        # U = 0.3, but 2 + 1 units are due by t = 2.
        ([RtTask(2, 10, 2), RtTask(2, 10, 1)], DemandExceeded(Fraction(3, 10), 2, 3)),
        # Deadlines 4, 6, 14, 16, ...: demand 2, 5, 7, 10, ... never above t.
        ([RtTask(4, 10, 2), RtTask(6, 10, 3)], Admitted(Fraction(1, 2))),
        # U = 1 with a constrained deadline: demand 5, 10, 20 at t = 5, 15, 20 (the hyperperiod).
        ([RtTask(5, 10, 5), RtTask(20, 20, 10)], Admitted(Fraction(1))),
        # U = 1, first failure long after D_max: dbf(59) = 6*5 + 5*6 = 60.
        ([RtTask(9, 10, 5), RtTask(11, 12, 6)], DemandExceeded(Fraction(1), 59, 60)),
        # U = 83/84, first failure at 69: 6*5 + 5*8 = 70; the horizon is 153 (below).
        ([RtTask(9, 12, 5), RtTask(13, 14, 8)], DemandExceeded(Fraction(83, 84), 69, 70)),
    ],
)
def test_hand_computed_cases(tasks: list[RtTask], verdict: Verdict) -> None:
    assert edf_admission(tasks) == verdict


def test_demand_counts_jobs_due_inside_the_interval() -> None:
    tasks = [RtTask(9, 12, 5), RtTask(13, 14, 8)]
    assert [demand(tasks, t) for t in (8, 9, 13, 21, 27, 69)] == [0, 5, 13, 18, 26, 70]


def test_demand_horizon() -> None:
    # (3 * 5/12 + 1 * 8/14) / (1 - 83/84) = 153
    assert demand_horizon([RtTask(9, 12, 5), RtTask(13, 14, 8)]) == 153
    # (8 * 1/10) / (1 - 3/10) = 8/7: no deadline needs checking, not even D_max = 5.
    assert demand_horizon([RtTask(2, 10, 1), RtTask(5, 5, 1)]) == 1
    assert demand_horizon([RtTask(9, 10, 5), RtTask(11, 12, 6)]) == 60


def edf_misses_a_deadline(tasks: list[RtTask]) -> bool:
    """Unit-step EDF from a synchronous release (the worst case) over a hyperperiod."""
    horizon = math.lcm(*(task.period for task in tasks)) + max(task.deadline for task in tasks)
    jobs: list[tuple[int, int, int]] = []  # (absolute deadline, task, remaining)
    for t in range(horizon):
        jobs += [(t + task.deadline, i, task.budget) for i, task in enumerate(tasks)
                 if t % task.period == 0]
        if any(deadline <= t for deadline, _, _ in jobs):
            return True
        if jobs:
            jobs.sort()
            deadline, i, remaining = jobs[0]
            jobs[0] = (deadline, i, remaining - 1)
            jobs = [job for job in jobs if job[2] > 0]
    return bool(jobs and min(deadline for deadline, _, _ in jobs) <= horizon)


@st.composite
def task_sets(draw: st.DrawFn) -> list[RtTask]:
    tasks = []
    for _ in range(draw(st.integers(1, 3))):
        period = draw(st.integers(2, 12))
        deadline = draw(st.integers(1, period))
        tasks.append(RtTask(deadline, period, draw(st.integers(1, deadline))))
    return tasks


@settings(max_examples=300)
@given(task_sets())
def test_admission_agrees_with_simulated_edf(tasks: list[RtTask]) -> None:
    verdict = edf_admission(tasks)
    assert isinstance(verdict, Admitted) == (not edf_misses_a_deadline(tasks))
    if isinstance(verdict, DemandExceeded):
        assert verdict.demand == demand(tasks, verdict.interval) > verdict.interval
