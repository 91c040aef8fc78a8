"""The scheduler core (ovm/core/sched.c) on the host, against the plain model in edf_model.py."""

from __future__ import annotations

import math

import pytest
from edf_model import IDLE, NRT, SrtTask, Trace, simulate, srt_label
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from ovmcore import NEVER, Core, Level, Status

CORE = 0
SLICE = 7


def run_c(core: Core, tasks: list[SrtTask], nrt_count: int, tick: int, horizon: int,
          quick: bool = False) -> Trace:
    """Drive sched.c as OVM does: decide at ticks (or, tickless, at sched_next_event) and at
    each job's vm_exit; the picked SRT vCPU runs its job for the units in between. With
    `quick`, a vm_exit tries sched_job_done_pick first, as hc_vm_exit does, and takes the
    full pass only where that declines."""
    core.reset(1, SLICE, 1)
    srt = [core.attach(CORE, Level.SRT) for _ in tasks]
    nrt = [core.attach(CORE, Level.NRT) for _ in range(nrt_count)]
    for vcpu, task in zip(srt, tasks):
        if core.set_rt(vcpu, 0, task.deadline, task.period, task.budget) is not Status.OK:
            raise Refused
    label = {vcpu: srt_label(index) for index, vcpu in enumerate(srt)} | {vcpu: NRT for vcpu in nrt}
    remaining = {vcpu: task.execution for vcpu, task in zip(srt, tasks)}
    trace = Trace()
    running: int | None = None
    next_event = budget_event = 0
    for now in range(horizon):
        completed = running in remaining and remaining[running] == 0
        quickly = False
        if completed:
            assert running is not None
            finished = running
            if quick and (picked := core.job_done_pick(finished, now)) is not None:
                running, quickly = picked, True
                trace.quick_exits += 1
            else:
                core.job_done(finished, now)
            remaining[finished] = tasks[srt.index(finished)].execution
        # A ticking core also looks when the running job's budget runs out (entry.c).
        if ((completed and not quickly) or (tick and now % tick == 0)
                or (not tick and now >= next_event) or now >= budget_event):
            core.update(CORE, now)
            running = core.pick(CORE, now)
            next_event = core.next_event(CORE)
            budget_event = core.budget_event(CORE)
        elif quickly:
            next_event = core.next_event(CORE)
            budget_event = core.budget_event(CORE)
        trace.ran.append(IDLE if running is None else label[running])
        if running in remaining:
            remaining[running] -= 1
    trace.misses = [core.misses(vcpu) for vcpu in srt]
    trace.max_detect_delay = [core.max_detect_delay(vcpu) for vcpu in srt]
    trace.jobs_done = [core.jobs_done(vcpu) for vcpu in srt]
    trace.overruns = [core.overruns(vcpu) for vcpu in srt]
    return trace


class Refused(Exception):
    """sched_set_realtime did not admit the task set."""


def horizon_for(tasks: list[SrtTask]) -> int:
    return min(2 * math.lcm(*(task.period for task in tasks)) + 1, 300)


@st.composite
def admissible_sets(draw: st.DrawFn, tick: int) -> list[SrtTask]:
    """Parameters that are multiples of the tick; each job runs its budget or less."""
    unit = max(tick, 1)
    tasks = []
    for _ in range(draw(st.integers(1, 3))):
        period = unit * draw(st.integers(2, 12))
        deadline = unit * draw(st.integers(1, period // unit))
        budget = unit * draw(st.integers(1, deadline // unit))
        tasks.append(SrtTask(deadline, period, budget, draw(st.integers(1, budget))))
    return tasks


def run_both(core: Core, tasks: list[SrtTask], nrt_count: int, tick: int) -> tuple[Trace, Trace]:
    """The C scheduler's trace and the model's over the same horizon; sets C refuses are skipped."""
    horizon = horizon_for(tasks)
    try:
        c_trace = run_c(core, tasks, nrt_count, tick, horizon)
    except Refused:
        assume(False)
    return c_trace, simulate(tasks, nrt_count, tick, horizon)


@st.composite
def overrunning_sets(draw: st.DrawFn) -> list[SrtTask]:
    """Any parameters; some jobs run longer than their budget."""
    tasks = []
    for _ in range(draw(st.integers(1, 3))):
        period = draw(st.integers(2, 30))
        deadline = draw(st.integers(1, period))
        budget = draw(st.integers(1, deadline))
        tasks.append(SrtTask(deadline, period, budget, draw(st.integers(1, 2 * period))))
    return tasks


@settings(max_examples=150, deadline=None)
@given(st.data(), st.sampled_from([0, 1, 2, 5]), st.integers(0, 2))
def test_admitted_sets_run_in_edf_order_without_misses(
    core: Core, data: st.DataObject, tick: int, nrt_count: int
) -> None:
    tasks = data.draw(admissible_sets(tick))
    c_trace, model = run_both(core, tasks, nrt_count, tick)
    assert c_trace.ran == model.ran
    assert c_trace.misses == model.misses == [0] * len(tasks)
    assert c_trace.jobs_done == model.jobs_done


@settings(max_examples=200, deadline=None)
@given(overrunning_sets(), st.sampled_from([0, 1, 3, 4]), st.integers(0, 1))
def test_late_jobs_count_the_same_misses_as_the_model(
    core: Core, tasks: list[SrtTask], tick: int, nrt_count: int
) -> None:
    c_trace, model = run_both(core, tasks, nrt_count, tick)
    assert c_trace.ran == model.ran
    assert c_trace.misses == model.misses
    assert c_trace.jobs_done == model.jobs_done
    assert c_trace.overruns == model.overruns
    assert c_trace.max_detect_delay == model.max_detect_delay
    # Detected at the first decision point at or after the deadline: within one tick.
    assert all(delay < max(tick, 1) for delay in c_trace.max_detect_delay)


@settings(max_examples=200, deadline=None)
@given(st.one_of(overrunning_sets(), admissible_sets(1)), st.sampled_from([0, 1, 3]),
       st.integers(0, 2))
def test_vm_exits_quick_path_schedules_exactly_as_the_full_pass(
    core: Core, tasks: list[SrtTask], tick: int, nrt_count: int
) -> None:
    horizon = horizon_for(tasks)
    try:
        full = run_c(core, tasks, nrt_count, tick, horizon)
    except Refused:
        assume(False)
    quick = run_c(core, tasks, nrt_count, tick, horizon, quick=True)
    assert full.quick_exits == 0
    assert (quick.ran, quick.misses, quick.jobs_done, quick.overruns, quick.max_detect_delay) == (
        full.ran, full.misses, full.jobs_done, full.overruns, full.max_detect_delay)


def test_vm_exits_quick_path_takes_the_common_case_and_declines_the_others(core: Core) -> None:
    # An on-time job with an NRT vCPU to run next: every vm_exit is the quick case.
    on_time = run_c(core, [SrtTask(10, 10, 4, 3)], 1, 1, 100, quick=True)
    assert on_time.quick_exits == on_time.jobs_done[0] == 10
    # Alone on its core, nothing else to pick: never.
    assert run_c(core, [SrtTask(10, 10, 4, 3)], 0, 1, 100, quick=True).quick_exits == 0
    # The longer job ends as the shorter one's release falls due: the full pass releases it.
    both = run_c(core, [SrtTask(4, 4, 2, 2), SrtTask(8, 8, 2, 2)], 1, 1, 48, quick=True)
    assert both.jobs_done == [12, 6] and both.quick_exits == 12


def test_an_overrun_is_throttled_each_period_and_misses_each_deadline(core: Core) -> None:
    # D = T = 10, budget 4, but the job runs 25 units: 4 units a period, throttled at each
    # budget's end, so it misses the deadlines at 10, 20, ..., 60 and ends at 61.
    tasks = [SrtTask(10, 10, 4, 25)]
    c_trace = run_c(core, tasks, 1, 1, 70)
    assert c_trace.misses == [6]
    assert c_trace.overruns == [6]
    assert c_trace.jobs_done == [1]
    window = [srt_label(0)] * 4 + [NRT] * 6
    assert c_trace.ran[:60] == window * 6
    assert c_trace.ran[60:] == [srt_label(0)] + [NRT] * 9
    assert c_trace == simulate(tasks, 1, 1, 70)


@pytest.mark.parametrize("tick", [0, 5])
def test_an_overrunning_vcpu_leaves_its_neighbour_every_deadline(core: Core, tick: int) -> None:
    # A 90% reservation next to a 10% one whose jobs never end: the hog gets its 10%
    # each period and no more, the other its 90%.
    tasks = [SrtTask(100, 100, 90, 90), SrtTask(100, 100, 10, 10**9)]
    c_trace = run_c(core, tasks, 1, tick, 1001)
    assert c_trace.misses[0] == 0
    assert c_trace.jobs_done[0] == 10
    assert c_trace.overruns[1] == 10
    assert c_trace.ran.count(srt_label(1)) == 100
    assert c_trace == simulate(tasks, 1, tick, 1001)


def test_the_budget_is_a_timer_event_of_the_running_job(core: Core) -> None:
    core.reset(1, SLICE, 1)
    vcpu = core.attach(0, Level.SRT)
    assert core.set_rt(vcpu, 0, 10, 10, 4) is Status.OK
    core.update(0, 0)
    assert core.pick(0, 0) == vcpu
    assert core.budget_event(0) == 4
    assert core.next_event(0) == 4
    core.update(0, 4)
    assert core.pick(0, 4) is None
    assert core.overruns(vcpu) == 1
    assert core.budget_event(0) == NEVER
    # Throttled, it waits for its next period; its deadline is the next event.
    assert core.next_event(0) == 10


# --- attach: an HRT vCPU owns its core --------------------------------------


@pytest.mark.parametrize("level", [Level.HRT, Level.SRT, Level.NRT])
def test_hrt_core_refuses_any_other_vcpu(core: Core, level: Level) -> None:
    core.reset(2, SLICE, 1)
    assert core.attach(0, Level.HRT) == 0
    assert core.attach(0, level) == Status.E_OCCUPIED
    assert core.attach(1, level) == 1


@pytest.mark.parametrize("level", [Level.SRT, Level.NRT])
def test_hrt_vcpu_refuses_a_core_in_use(core: Core, level: Level) -> None:
    core.reset(1, SLICE, 1)
    assert core.attach(0, level) == 0
    assert core.attach(0, Level.HRT) == Status.E_NOT_EMPTY


def test_hrt_vcpu_always_runs(core: Core) -> None:
    core.reset(1, SLICE, 1)
    hrt = core.attach(0, Level.HRT)
    for now in range(0, 50, 5):
        core.update(0, now)
        assert core.pick(0, now) == hrt


def test_a_core_holds_at_most_eight_vcpus(core: Core) -> None:
    core.reset(1, SLICE, 1)
    assert [core.attach(0, Level.NRT) for _ in range(8)] == list(range(8))
    assert core.attach(0, Level.NRT) == Status.E_FULL


# --- set_realtime -------------------------------------------------------------


@pytest.mark.parametrize(
    ("deadline", "period", "budget"),
    [(10, 10, 0), (10, 10, 11), (11, 10, 5), (9, 9, 1), (10, 1 << 32, 1)],
    ids=["no budget", "budget over deadline", "deadline over period", "period below minimum",
         "period over 32 bits"],
)
def test_set_realtime_refuses_invalid_parameters(
    core: Core, deadline: int, period: int, budget: int
) -> None:
    core.reset(1, SLICE, 10)
    vcpu = core.attach(0, Level.SRT)
    assert core.set_rt(vcpu, 0, deadline, period, budget) is Status.E_INVAL


@pytest.mark.parametrize("level", [Level.HRT, Level.NRT])
def test_only_srt_vcpus_take_parameters(core: Core, level: Level) -> None:
    core.reset(1, SLICE, 1)
    vcpu = core.attach(0, level)
    assert core.set_rt(vcpu, 0, 10, 10, 1) is Status.E_LEVEL


def test_set_realtime_refuses_overload(core: Core) -> None:
    core.reset(1, SLICE, 1)
    a, b, c = (core.attach(0, Level.SRT) for _ in range(3))
    assert core.set_rt(a, 0, 10, 10, 5) is Status.OK
    assert core.set_rt(b, 0, 20, 20, 11) is Status.E_OVERLOAD  # U = 1.05
    # U = 1 exactly; halves are exact in the fixed point that admission.c rounds up to.
    assert core.set_rt(b, 0, 20, 20, 10) is Status.OK
    # U = 0.5 for c alone, but a + b leave no room.
    assert core.set_rt(c, 0, 2, 4, 1) is Status.E_OVERLOAD


def test_set_realtime_refuses_a_demand_overload_below_full_utilization(core: Core) -> None:
    core.reset(1, SLICE, 1)
    a, b = core.attach(0, Level.SRT), core.attach(0, Level.SRT)
    assert core.set_rt(a, 0, 2, 10, 2) is Status.OK
    assert core.set_rt(b, 0, 2, 10, 1) is Status.E_OVERLOAD  # 3 units due by t = 2


def test_new_parameters_replace_the_old_ones_in_admission(core: Core) -> None:
    core.reset(1, SLICE, 1)
    a, b = core.attach(0, Level.SRT), core.attach(0, Level.SRT)
    assert core.set_rt(a, 0, 10, 10, 9) is Status.OK
    assert core.set_rt(a, 0, 10, 10, 5) is Status.OK
    assert core.set_rt(b, 0, 10, 10, 5) is Status.OK


# --- NRT sharing ----------------------------------------------------------------


@pytest.mark.parametrize("nrt_count", [2, 3])
@pytest.mark.parametrize("slices", [1, 4, 25])
def test_nrt_vcpus_share_the_core_fairly(core: Core, nrt_count: int, slices: int) -> None:
    core.reset(1, SLICE, 1)
    vcpus = [core.attach(0, Level.NRT) for _ in range(nrt_count)]
    horizon = slices * nrt_count * SLICE
    for now in range(horizon + 1):
        core.update(0, now)
        core.pick(0, now)
    runtimes = [core.runtime(vcpu) for vcpu in vcpus]
    assert sum(runtimes) == horizon
    assert max(runtimes) - min(runtimes) <= SLICE


def test_nrt_vcpu_keeps_the_core_for_its_slice(core: Core) -> None:
    core.reset(1, SLICE, 1)
    a, b = core.attach(0, Level.NRT), core.attach(0, Level.NRT)
    picks = []
    for now in range(3 * SLICE):
        core.update(0, now)
        picks.append(core.pick(0, now))
    assert picks == [a] * SLICE + [b] * SLICE + [a] * SLICE


def test_a_blocked_vcpu_is_not_picked_and_gains_no_run_time(core: Core) -> None:
    core.reset(1, SLICE, 1)
    a, b = core.attach(0, Level.NRT), core.attach(0, Level.NRT)
    core.update(0, 0)
    assert core.pick(0, 0) == a
    core.block(a, 5)
    for now in range(5, 5 + 3 * SLICE):
        core.update(0, now)
        assert core.pick(0, now) == b
    assert core.runtime(a) == 5
    assert core.unblock(a) and not core.unblock(a)
    now = 5 + 3 * SLICE
    core.update(0, now)
    # Less run time than b: a has the core at once, and its clock starts now.
    assert core.pick(0, now) == a
    core.update(0, now + 2)
    assert core.runtime(a) == 7


def test_blocking_and_waking_leave_an_idle_core_idle_until_then(core: Core) -> None:
    core.reset(1, SLICE, 1)
    a = core.attach(0, Level.NRT)
    core.update(0, 0)
    assert core.pick(0, 0) == a
    core.block(a, 1)
    assert core.pick(0, 1) is None
    assert core.next_event(0) == NEVER
    assert core.runtime(a) == 1
    core.unblock(a)
    assert core.pick(0, 100) == a
    core.update(0, 101)
    assert core.runtime(a) == 2


def test_tickless_nrt_wakes_at_the_slice_end_only_when_another_waits(core: Core) -> None:
    core.reset(1, SLICE, 1)
    a = core.attach(0, Level.NRT)
    core.update(0, 0)
    assert core.pick(0, 0) == a
    assert core.next_event(0) == NEVER
    core.reset(1, SLICE, 1)
    a, b = core.attach(0, Level.NRT), core.attach(0, Level.NRT)
    core.update(0, 3)
    assert core.pick(0, 3) == a
    assert core.next_event(0) == 3 + SLICE


def test_srt_without_parameters_runs_after_periodic_jobs_and_before_nrt(core: Core) -> None:
    core.reset(1, SLICE, 1)
    nrt = core.attach(0, Level.NRT)
    background = core.attach(0, Level.SRT)
    periodic = core.attach(0, Level.SRT)
    assert core.set_rt(periodic, 0, 10, 10, 3) is Status.OK
    core.update(0, 0)
    assert core.pick(0, 0) == periodic
    core.job_done(periodic, 3)
    core.update(0, 3)
    assert core.pick(0, 3) == background
    assert nrt != background
