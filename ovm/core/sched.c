#include <core/admission.h>
#include <core/sched.h>

/* Dispatch classes, most urgent first. */
enum sched_class {
	CLASS_HRT,
	CLASS_SRT_PERIODIC,
	/* An SRT vCPU that has not handed over its parameters yet. */
	CLASS_SRT_BACKGROUND,
	CLASS_NRT,
};

/* Periods are at most this long so that budget << 32 stays inside 64 bits in admission. */
#define MAX_PERIOD 0xffffffffull

static enum sched_class class_of(const struct sched_entity *se)
{
	switch (se->level) {
	case LEVEL_HRT:
		return CLASS_HRT;
	case LEVEL_SRT:
		return se->periodic ? CLASS_SRT_PERIODIC : CLASS_SRT_BACKGROUND;
	default:
		return CLASS_NRT;
	}
}

/* The same as class_of(se) == CLASS_SRT_PERIODIC, in the few instructions a fast path has. */
static bool is_periodic(const struct sched_entity *se)
{
	return se->level == LEVEL_SRT && se->periodic;
}

static bool runs_before(const struct sched_entity *a, const struct sched_entity *b)
{
	enum sched_class ca = class_of(a), cb = class_of(b);

	if (ca != cb)
		return ca < cb;
	if (ca == CLASS_SRT_PERIODIC && a->abs_deadline != b->abs_deadline)
		return a->abs_deadline < b->abs_deadline;
	if (ca == CLASS_NRT && a->runtime != b->runtime)
		return a->runtime < b->runtime;
	return a->id < b->id;
}

static bool released_before(const struct sched_entity *a, const struct sched_entity *b)
{
	if (a->release != b->release)
		return a->release < b->release;
	return a->id < b->id;
}

static void queue_insert(struct sched_entity **queue, u32 *count, struct sched_entity *se,
			 bool (*before)(const struct sched_entity *, const struct sched_entity *))
{
	u32 i = *count;

	while (i > 0 && before(se, queue[i - 1])) {
		queue[i] = queue[i - 1];
		i--;
	}
	queue[i] = se;
	(*count)++;
}

static void queue_remove(struct sched_entity **queue, u32 *count, const struct sched_entity *se)
{
	u32 i = 0;

	while (i < *count && queue[i] != se)
		i++;
	if (i == *count)
		return;
	for (; i + 1 < *count; i++)
		queue[i] = queue[i + 1];
	(*count)--;
}

/* After a key of a runnable entity changed: put it back in order. */
static void requeue(struct runqueue *rq, struct sched_entity *se)
{
	queue_remove(rq->run, &rq->nrun, se);
	queue_insert(rq->run, &rq->nrun, se, runs_before);
}

static void make_waiting(struct runqueue *rq, struct sched_entity *se)
{
	queue_remove(rq->run, &rq->nrun, se);
	se->state = SE_WAITING;
	queue_insert(rq->wait, &rq->nwait, se, released_before);
}

/* A release: a new period, so the budget is whole again. */
static void make_runnable(struct runqueue *rq, struct sched_entity *se)
{
	queue_remove(rq->wait, &rq->nwait, se);
	se->state = SE_RUNNABLE;
	se->throttled = false;
	se->used = 0;
	queue_insert(rq->run, &rq->nrun, se, runs_before);
}

static void account(struct runqueue *rq, u64 now)
{
	struct sched_entity *se = rq->current;

	if (!se || now <= se->dispatched_at)
		return;
	se->runtime += now - se->dispatched_at;
	se->used += now - se->dispatched_at;
	se->dispatched_at = now;
	if (se->state == SE_RUNNABLE && class_of(se) == CLASS_NRT)
		requeue(rq, se);
}

void sched_init(struct runqueue *rq, u32 core, u64 nrt_slice, u64 min_period)
{
	*rq = (struct runqueue){
		.core = core,
		.level = LEVEL_NRT,
		.nrt_slice = nrt_slice,
		.min_period = min_period,
	};
}

enum sched_status sched_can_attach(const struct runqueue *rq, enum rt_level level)
{
	if (rq->attached && rq->level == LEVEL_HRT)
		return SCHED_E_OCCUPIED;
	if (level == LEVEL_HRT && rq->attached)
		return SCHED_E_NOT_EMPTY;
	if (rq->attached == SCHED_MAX_PER_CORE)
		return SCHED_E_FULL;
	return SCHED_OK;
}

enum sched_status sched_attach(struct runqueue *rq, struct sched_entity *se,
			       enum rt_level level, u32 id)
{
	enum sched_status status = sched_can_attach(rq, level);

	if (status != SCHED_OK)
		return status;
	*se = (struct sched_entity){ .level = level, .state = SE_RUNNABLE, .id = id };
	rq->members[rq->attached++] = se;
	if (level < rq->level)
		rq->level = level;
	queue_insert(rq->run, &rq->nrun, se, runs_before);
	return SCHED_OK;
}

static bool valid_parameters(const struct runqueue *rq, u64 deadline, u64 period, u64 budget)
{
	return budget > 0 && budget <= deadline && deadline <= period &&
	       period >= rq->min_period && period <= MAX_PERIOD;
}

enum sched_status sched_admissible(const struct runqueue *rq, const struct sched_entity *se,
				   u64 deadline, u64 period, u64 budget)
{
	struct rt_task tasks[ADMISSION_MAX_TASKS];
	u32 count = 0;

	if (!valid_parameters(rq, deadline, period, budget))
		return SCHED_E_INVAL;
	for (u32 i = 0; i < rq->attached; i++) {
		const struct sched_entity *other = rq->members[i];
		if (other != se && other->periodic)
			tasks[count++] = (struct rt_task){ other->deadline, other->period, other->budget };
	}
	tasks[count++] = (struct rt_task){ deadline, period, budget };
	return edf_admission(tasks, count).schedulable ? SCHED_OK : SCHED_E_OVERLOAD;
}

enum sched_status sched_set_realtime(struct runqueue *rq, struct sched_entity *se, u64 now,
				     u64 deadline, u64 period, u64 budget)
{
	if (se->level != LEVEL_SRT)
		return SCHED_E_LEVEL;
	enum sched_status status = sched_admissible(rq, se, deadline, period, budget);
	if (status != SCHED_OK)
		return status;

	se->periodic = true;
	se->deadline = deadline;
	se->period = period;
	se->budget = budget;
	se->release = now;
	se->abs_deadline = now + deadline;
	se->used = 0;
	if (se->state == SE_WAITING)
		make_runnable(rq, se);
	else
		requeue(rq, se);
	return SCHED_OK;
}

/* A periodic job is done: the next one is due at its next release. */
static void end_job(struct sched_entity *se)
{
	se->jobs_done++;
	se->release += se->period;
	se->abs_deadline = se->release + se->deadline;
}

void sched_job_done(struct runqueue *rq, struct sched_entity *se, u64 now)
{
	account(rq, now);
	if (class_of(se) == CLASS_SRT_PERIODIC) {
		end_job(se);
		if (se->release > now) {
			make_waiting(rq, se);
		} else {
			se->used = 0;
			requeue(rq, se);
		}
	} else if (class_of(se) == CLASS_NRT && se == rq->current) {
		/* A yield: give the rest of the slice to the other NRT vCPUs. */
		rq->slice_end = now;
	}
}

/*
 * vm_exit's common case in one step: the running SRT job ends on time, before
 * its next release, nothing else is due on the core (no release, no deadline
 * passed), and another vCPU can run. Then sched_job_done, sched_update and
 * sched_pick would do exactly what sched_job_done and sched_pick do; the checks
 * make it so. NULL, with nothing changed, in any other case.
 */
struct sched_entity *sched_job_done_pick(struct runqueue *rq, struct sched_entity *se, u64 now)
{
	if (se != rq->current || rq->nrun < 2 || rq->run[0] != se || !is_periodic(se) ||
	    now >= se->abs_deadline || se->release + se->period <= now ||
	    (rq->nwait && rq->wait[0]->release <= now))
		return NULL;
	for (u32 i = 0; i < rq->nwait; i++)
		if (rq->wait[i]->throttled && rq->wait[i]->abs_deadline <= now)
			return NULL;
	for (u32 i = 1; i < rq->nrun; i++)
		if (is_periodic(rq->run[i]) && rq->run[i]->abs_deadline <= now)
			return NULL;
	account(rq, now);
	end_job(se);
	make_waiting(rq, se);
	return sched_pick(rq, now);
}

void sched_block(struct runqueue *rq, struct sched_entity *se, u64 now)
{
	account(rq, now);
	queue_remove(rq->run, &rq->nrun, se);
	se->state = SE_BLOCKED;
	/* Its time off the core is not run time: the next pick starts its clock again. */
	if (rq->current == se)
		rq->current = NULL;
}

bool sched_unblock(struct runqueue *rq, struct sched_entity *se)
{
	if (se->state != SE_BLOCKED)
		return false;
	se->state = SE_RUNNABLE;
	queue_insert(rq->run, &rq->nrun, se, runs_before);
	return true;
}

static void count_misses(struct sched_entity *se, u64 now, u64 passed)
{
	u64 delay = now - se->abs_deadline;

	se->misses += (u32)passed;
	se->last_miss_deadline = se->abs_deadline + (passed - 1) * se->period;
	se->last_miss_detected = now;
	if (delay > se->max_detect_delay)
		se->max_detect_delay = delay;
	se->miss_signal = true;
}

/*
 * A job still running at its deadline is a miss. It goes on as the next
 * period's job (its deadline moves one period on, with a whole budget), so
 * every deadline that passes without a vm_exit counts once, and a late job
 * cannot keep the earliest deadline and starve the others. One division,
 * however far the clock went: bounded work.
 */
static void detect_misses(struct runqueue *rq, u64 now)
{
	for (u32 i = 0; i < rq->nrun; i++) {
		struct sched_entity *se = rq->run[i];
		if (class_of(se) != CLASS_SRT_PERIODIC || se->abs_deadline > now)
			continue;
		u64 passed = (now - se->abs_deadline) / se->period + 1;
		count_misses(se, now, passed);
		se->release += passed * se->period;
		se->abs_deadline += passed * se->period;
		se->used = 0;
		requeue(rq, se);
		/* The queue moved under the cursor: look at this position again. A job moved
		 * here has its deadline past now, so each is moved at most once. */
		i = (u32)-1;
	}
}

/* A throttled job misses the deadline it could not finish by; its next period's
 * deadline follows its next release. */
static void detect_throttled_misses(struct runqueue *rq, u64 now)
{
	for (u32 i = 0; i < rq->nwait; i++) {
		struct sched_entity *se = rq->wait[i];
		if (!se->throttled || se->abs_deadline > now)
			continue;
		count_misses(se, now, 1);
		se->abs_deadline = se->release + se->deadline;
	}
}

/* The running job has used up its period's budget: off the core until its next period. */
static void enforce_budget(struct runqueue *rq)
{
	struct sched_entity *se = rq->current;

	if (!se || se->state != SE_RUNNABLE || class_of(se) != CLASS_SRT_PERIODIC ||
	    se->used < se->budget)
		return;
	se->overruns++;
	se->throttled = true;
	se->release += se->period;
	make_waiting(rq, se);
	rq->current = NULL;
}

void sched_update(struct runqueue *rq, u64 now)
{
	account(rq, now);
	enforce_budget(rq);
	detect_throttled_misses(rq, now);
	while (rq->nwait && rq->wait[0]->release <= now)
		make_runnable(rq, rq->wait[0]);
	detect_misses(rq, now);
}

struct sched_entity *sched_pick(struct runqueue *rq, u64 now)
{
	struct sched_entity *current = rq->current;

	account(rq, now);
	struct sched_entity *head = rq->nrun ? rq->run[0] : NULL;
	if (head && class_of(head) == CLASS_NRT) {
		bool keep = current && current->state == SE_RUNNABLE &&
			    class_of(current) == CLASS_NRT && now < rq->slice_end;
		if (keep)
			head = current;
		else if (head != current || now >= rq->slice_end)
			rq->slice_end = now + rq->nrt_slice;
	}
	if (head != current && head)
		head->dispatched_at = now;
	rq->current = head;
	return head;
}

u64 sched_next_event(const struct runqueue *rq)
{
	u64 next = SCHED_NEVER;
	u32 nrt_runnable = 0;

	if (rq->nwait)
		next = rq->wait[0]->release;
	/* A throttled job's deadline passes while it waits: a miss to see then. */
	for (u32 i = 0; i < rq->nwait; i++)
		if (rq->wait[i]->throttled && rq->wait[i]->abs_deadline < next)
			next = rq->wait[i]->abs_deadline;
	for (u32 i = 0; i < rq->nrun; i++) {
		const struct sched_entity *se = rq->run[i];
		if (class_of(se) == CLASS_SRT_PERIODIC && se->abs_deadline < next)
			next = se->abs_deadline;
		nrt_runnable += class_of(se) == CLASS_NRT;
	}
	/* A slice ends something only when another NRT vCPU waits for the core. */
	if (nrt_runnable > 1 && rq->current && class_of(rq->current) == CLASS_NRT &&
	    rq->slice_end < next)
		next = rq->slice_end;
	u64 budget = sched_budget_event(rq);
	return budget < next ? budget : next;
}

u64 sched_budget_event(const struct runqueue *rq)
{
	const struct sched_entity *se = rq->current;

	if (!se || se->state != SE_RUNNABLE || class_of(se) != CLASS_SRT_PERIODIC)
		return SCHED_NEVER;
	return se->dispatched_at + (se->used < se->budget ? se->budget - se->used : 0);
}
