"""ovm/core/admission.c against the build tooling's copy of it (lab.firmware.admission's
ovm_admission), and both against the exact test on fractions (edf_admission)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ovmcore import Core

from lab.firmware.admission import (
    MAX_POINTS,
    Admitted,
    DemandExceeded,
    Overload,
    RtTask,
    TooCostly,
    demand,
    edf_admission,
    ovm_admission,
)


@st.composite
def task_sets(draw: st.DrawFn, max_period: int) -> list[RtTask]:
    tasks = []
    for _ in range(draw(st.integers(1, 4))):
        period = draw(st.integers(1, max_period))
        deadline = draw(st.one_of(st.just(period), st.integers(1, period)))
        tasks.append(RtTask(deadline, period, draw(st.integers(1, deadline))))
    return tasks


def check_agreement(core: Core, tasks: list[RtTask]) -> None:
    exact = edf_admission(tasks)
    bounded = ovm_admission(tasks)
    c = core.admission([(task.deadline, task.period, task.budget) for task in tasks])
    # The tooling's copy says what OVM says.
    assert c.schedulable == isinstance(bounded, Admitted)
    assert c.too_many_points == isinstance(bounded, TooCostly)
    if isinstance(bounded, DemandExceeded):
        assert (c.failed_at, c.demand) == (bounded.interval, bounded.demand)
    # Sound against the exact test: it admits only schedulable sets, refuses by demand only
    # unschedulable ones, and by utilization only those above 1 (or at exactly 1 with a
    # hyperperiod past 2^60, which it cannot decide in 64 bits).
    if isinstance(bounded, Admitted):
        assert isinstance(exact, Admitted)
    if isinstance(bounded, DemandExceeded):
        assert not isinstance(exact, Admitted)
    if isinstance(bounded, Overload):
        assert isinstance(exact, Overload) or exact.utilization == 1
    # Rounded up, never down: within one ppm per task of the exact value.
    ppm = exact.utilization * 1_000_000
    assert ppm <= c.utilization_ppm <= ppm + len(tasks) + 1
    if c.failed_at:  # refused by the demand test: at an interval that really is overloaded
        assert c.demand == demand(tasks, c.failed_at) > c.failed_at


@settings(max_examples=400, deadline=None)
@given(task_sets(max_period=40))
def test_c_admission_agrees_with_exact_admission(core: Core, tasks: list[RtTask]) -> None:
    check_agreement(core, tasks)


@settings(max_examples=200, deadline=None)
@given(task_sets(max_period=2_000_000))
def test_c_admission_agrees_with_long_periods(core: Core, tasks: list[RtTask]) -> None:
    check_agreement(core, tasks)


@pytest.mark.parametrize(
    ("tasks", "schedulable"),
    [
        ([(10, 10, 5), (20, 20, 10)], True),
        ([(10, 10, 6), (20, 20, 10)], False),
        ([(2, 10, 2), (2, 10, 1)], False),
        ([(4, 10, 2), (6, 10, 3)], True),
        ([(5, 10, 5), (20, 20, 10)], True),
        ([(9, 12, 5), (13, 14, 8)], False),
    ],
)
def test_hand_computed_cases(
    core: Core, tasks: list[tuple[int, int, int]], schedulable: bool
) -> None:
    assert core.admission(tasks).schedulable is schedulable


def test_demand_failure_names_the_interval(core: Core) -> None:
    result = core.admission([(2, 10, 2), (2, 10, 1)])
    # 0.3 is not exact in binary: rounded up twice (to 2^-32, then to ppm).
    assert (result.failed_at, result.demand, result.utilization_ppm) == (2, 3, 300_001)


@pytest.mark.parametrize(
    "tasks",
    [
        [(120_000, 120_000, 1), (1, 2, 1), (3, 3, 1)],
        # In us: a 10 s reservation next to a 100 us one due after 50 us.
        [(10_000_000, 10_000_000, 1000), (50, 100, 20)],
    ],
)
def test_a_long_deadline_does_not_multiply_the_points_to_check(
    core: Core, tasks: list[tuple[int, int, int]]
) -> None:
    # With max(D_max, ...) as the demand horizon these took over ADMISSION_MAX_POINTS checks.
    result = core.admission(tasks)
    assert (result.schedulable, result.too_many_points) == (True, False)


def test_the_demand_is_checked_at_a_bounded_number_of_deadlines(core: Core) -> None:
    # Schedulable, but with deadlines far below the periods the horizon holds more than
    # MAX_POINTS deadlines: OVM checks that many, then refuses rather than hold its core.
    tasks = [(1, 100, 1), (5000, 10000, 4890), (100, 101, 1)]
    assert isinstance(edf_admission([RtTask(*task) for task in tasks]), Admitted)
    result = core.admission(tasks)
    assert (result.schedulable, result.too_many_points) == (False, True)
    assert isinstance(ovm_admission([RtTask(*task) for task in tasks]), TooCostly)
    assert MAX_POINTS == 64


def test_a_set_dense_enough_is_admitted_without_the_demand_test(core: Core) -> None:
    # Density 0.5 + 0.4: every job fits before its deadline whatever the others do.
    tasks = [(2, 1_000_000, 1), (5, 7_000_001, 2)]
    result = core.admission(tasks)
    assert (result.schedulable, result.too_many_points, result.failed_at) == (True, False, 0)


def test_a_set_at_exactly_utilization_one_is_admitted_as_the_tooling_does(core: Core) -> None:
    # 6/10 + 8/20 = 1: each term rounded up sums past 1; decided exactly instead.
    tasks = [RtTask(10, 10, 6), RtTask(20, 20, 8)]
    assert isinstance(edf_admission(tasks), Admitted)
    assert core.admission([(t.deadline, t.period, t.budget) for t in tasks]).schedulable
