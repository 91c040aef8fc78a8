/*
 * The per-core scheduler, as the paper describes it: a run queue and a wait
 * queue, both kept in priority order. HRT vCPUs occupy a core alone; SRT jobs
 * are dispatched earliest-deadline-first; NRT vCPUs run when no SRT job is
 * pending and share the core by least run time.
 *
 * Budgets are hard reservations: each period an SRT vCPU may run for its
 * budget. A job that has used it up is throttled (off the run queue) until
 * its next period, counted as an overrun; its deadline then passes as a miss.
 * Admission promises each reservation its budget every period, so one vCPU
 * overrunning can never make another miss (a constant-bandwidth server would
 * also keep that promise, but moves deadlines, which the deadline figures
 * here count against the guest's own).
 *
 * Pure logic: time is a number of timer ticks handed in by the caller, and
 * nothing here touches hardware, so the same file is built for the host and
 * tested from pytest (testcases/core).
 */
#ifndef CORE_SCHED_H
#define CORE_SCHED_H

#include <core/config.h>
#include <lib/types.h>

#define SCHED_MAX_PER_CORE 8
#define SCHED_NEVER 0xffffffffffffffffull

enum sched_status {
	SCHED_OK = 0,
	/* An HRT vCPU holds the core: nothing else may be queued there. */
	SCHED_E_OCCUPIED = -1,
	/* An HRT vCPU needs a core whose queues are empty. */
	SCHED_E_NOT_EMPTY = -2,
	SCHED_E_FULL = -3,
	/* Parameters out of range: D > T, C > D, C = 0, T below the minimum period. */
	SCHED_E_INVAL = -4,
	/* Admitting the parameters would make the core's SRT set not EDF-schedulable. */
	SCHED_E_OVERLOAD = -5,
	/* Only SRT vCPUs have real-time parameters. */
	SCHED_E_LEVEL = -6,
};

enum sched_state {
	SE_RUNNABLE,
	/* SRT: done with this period's job, in the wait queue until its next release. */
	SE_WAITING,
	/* In no queue: waiting for an answer from another vCPU (the host's write_io). */
	SE_BLOCKED,
};

struct sched_entity {
	enum rt_level level;
	enum sched_state state;
	u32 id;
	/* SRT: the vCPU has periodic parameters; before that it runs as a background SRT. */
	bool periodic;
	u64 deadline;
	u64 period;
	u64 budget;
	/* Current job: released at `release`, due at `abs_deadline`. */
	u64 release;
	u64 abs_deadline;
	/* Time on the core so far: NRT fair share and statistics. */
	u64 runtime;
	/* Time on the core in the current period (SRT): it may not exceed the budget. */
	u64 used;
	u64 dispatched_at;
	/* Used up its budget: waits for its next period (`release`), its deadline still due. */
	bool throttled;
	u32 overruns;
	u32 jobs_done;
	u32 misses;
	u64 last_miss_deadline;
	u64 last_miss_detected;
	u64 max_detect_delay;
	/* Set when a miss is detected; the vCPU layer raises the miss interrupt and clears it. */
	bool miss_signal;
};

struct runqueue {
	u32 core;
	/* Highest level any vCPU attached here needs (HRT < SRT < NRT); NRT when empty. */
	enum rt_level level;
	u32 attached;
	struct sched_entity *members[SCHED_MAX_PER_CORE];
	/* Run queue: by level, then deadline (SRT) or run time (NRT). */
	struct sched_entity *run[SCHED_MAX_PER_CORE];
	u32 nrun;
	/* Wait queue: by next release. */
	struct sched_entity *wait[SCHED_MAX_PER_CORE];
	u32 nwait;
	struct sched_entity *current;
	u64 nrt_slice;
	u64 slice_end;
	u64 min_period;
};

void sched_init(struct runqueue *rq, u32 core, u64 nrt_slice, u64 min_period);
enum sched_status sched_attach(struct runqueue *rq, struct sched_entity *se,
			       enum rt_level level, u32 id);
/* Whether sched_attach would take a vCPU of `level`; changes nothing. */
enum sched_status sched_can_attach(const struct runqueue *rq, enum rt_level level);
/* Whether sched_set_realtime would admit these parameters for `se` (NULL: a vCPU not yet
 * attached); changes nothing. */
enum sched_status sched_admissible(const struct runqueue *rq, const struct sched_entity *se,
				   u64 deadline, u64 period, u64 budget);
/* set_realtime_info: admission over the core's SRT set, then the first job starts now. */
enum sched_status sched_set_realtime(struct runqueue *rq, struct sched_entity *se, u64 now,
				     u64 deadline, u64 period, u64 budget);
/* vm_exit: the current job is done; wait for the next release. */
void sched_job_done(struct runqueue *rq, struct sched_entity *se, u64 now);
/* sched_job_done and the pick after it, when nothing else is due (the common vm_exit);
 * NULL, nothing changed, when something is. */
struct sched_entity *sched_job_done_pick(struct runqueue *rq, struct sched_entity *se, u64 now);
/* The vCPU waits for an answer: off the queues until sched_unblock. NRT only. */
void sched_block(struct runqueue *rq, struct sched_entity *se, u64 now);
/* Its answer came: runnable again. False if it was not blocked. */
bool sched_unblock(struct runqueue *rq, struct sched_entity *se);
/* Account run time, release jobs whose time has come, detect deadline misses. */
void sched_update(struct runqueue *rq, u64 now);
/* The entity to run from now, or NULL to idle; becomes rq->current. */
struct sched_entity *sched_pick(struct runqueue *rq, u64 now);
/* The next time the queues change by themselves (a release, a deadline, the running
 * SRT job's budget running out, a slice end). */
u64 sched_next_event(const struct runqueue *rq);
/* When the running SRT job's budget runs out (SCHED_NEVER if no SRT job runs): a
 * ticking core looks then too, so that no job runs past its budget. */
u64 sched_budget_event(const struct runqueue *rq);

#endif
