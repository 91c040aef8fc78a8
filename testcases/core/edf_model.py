"""The scheduling policy of one core, stated as plainly as possible, to check sched.c against.

Time advances in units. SRT task i releases a job every `period` from 0, due
`deadline` after its release, that runs `execution` units (more than its budget
makes it late). The scheduler decides only at its decision points: every unit
when tickless (which is exact EDF), else at multiples of `tick`; and also when a
job completes and when the running job has used up its budget. At a decision
point it first throttles the running job if it has used up its period's budget
(an overrun: it waits for its next period), counts the misses of throttled jobs
whose deadline has passed, releases due jobs (with a whole budget), counts the
misses of released jobs, then picks:

- the released, unthrottled, unfinished SRT job with the earliest absolute
  deadline (ties: lower task index);
- else an NRT vCPU, if there is one;
- else nothing.

A released job still unfinished at its deadline counts one miss for every
deadline that passes; it keeps running as the next period's job (its release and
deadline move one period on, its budget whole again, and that period's own job is
not released on top of it), as detect_misses in ovm/core/sched.c does. A
throttled job counts one miss at its deadline and continues in its next period.
"""

from __future__ import annotations

from dataclasses import dataclass, field

IDLE = "idle"
NRT = "nrt"


@dataclass(frozen=True)
class SrtTask:
    deadline: int
    period: int
    budget: int
    # What each job really runs.
    execution: int


@dataclass
class _Job:
    release: int
    deadline: int
    remaining: int
    # Seen released at a decision point and not finished; a late job stays so.
    pending: bool
    # Time run in the current period.
    used: int = 0
    # Used up its budget: waits for `release` (its next period), its deadline still due.
    throttled: bool = False


@dataclass
class Trace:
    """What ran in each unit ("srt<i>", NRT or IDLE), and each SRT task's misses."""

    ran: list[str] = field(default_factory=list)
    misses: list[int] = field(default_factory=list)
    max_detect_delay: list[int] = field(default_factory=list)
    jobs_done: list[int] = field(default_factory=list)
    overruns: list[int] = field(default_factory=list)
    # The C scheduler's vm_exits that took sched_job_done_pick (the model has none).
    quick_exits: int = 0


def srt_label(index: int) -> str:
    return f"srt{index}"


def simulate(tasks: list[SrtTask], nrt_count: int, tick: int, horizon: int) -> Trace:
    """`tick` 0 means tickless."""
    jobs = [_Job(0, task.deadline, task.execution, pending=True) for task in tasks]
    trace = Trace(misses=[0] * len(tasks), max_detect_delay=[0] * len(tasks),
                  jobs_done=[0] * len(tasks), overruns=[0] * len(tasks))

    def miss(index: int, now: int) -> None:
        trace.misses[index] += 1
        trace.max_detect_delay[index] = max(trace.max_detect_delay[index],
                                            now - jobs[index].deadline)

    running: int | None = None
    choice = IDLE
    for now in range(horizon):
        completed = running is not None and jobs[running].remaining == 0
        if completed:
            assert running is not None
            job, task = jobs[running], tasks[running]
            trace.jobs_done[running] += 1
            job.release += task.period
            job.deadline = job.release + task.deadline
            job.remaining = task.execution
            job.used = 0
            job.pending = job.release <= now
        exhausted = (running is not None and jobs[running].pending
                     and jobs[running].used >= tasks[running].budget)
        if completed or exhausted or tick == 0 or now % tick == 0:
            if exhausted:
                assert running is not None
                job = jobs[running]
                trace.overruns[running] += 1
                job.pending, job.throttled = False, True
                job.release += tasks[running].period
            for index, job in enumerate(jobs):
                if job.throttled and job.deadline <= now:
                    miss(index, now)
                    job.deadline = job.release + tasks[index].deadline
            for index, job in enumerate(jobs):
                if not job.pending and job.release <= now:
                    job.pending, job.throttled, job.used = True, False, 0
                while job.pending and job.deadline <= now:
                    miss(index, now)
                    job.release += tasks[index].period
                    job.deadline += tasks[index].period
                    job.used = 0
            pending = [index for index, job in enumerate(jobs) if job.pending]
            if pending:
                running = min(pending, key=lambda index: (jobs[index].deadline, index))
                choice = srt_label(running)
            else:
                running = None
                choice = NRT if nrt_count else IDLE
        trace.ran.append(choice)
        if running is not None:
            jobs[running].remaining -= 1
            jobs[running].used += 1
    return trace
