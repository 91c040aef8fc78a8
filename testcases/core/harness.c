/*
 * A flat API over the scheduler core (ovm/core/sched.c, ovm/core/admission.c)
 * for ctypes: integers in and out, a vCPU named by its index, all state in
 * static arrays. Built for the host, so it includes no system header: the core
 * brings its own types (lib/types.h).
 */
#include <core/admission.h>
#include <core/sched.h>

#define H_MAX_VCPUS (OVM_MAX_CORES * SCHED_MAX_PER_CORE)

static struct runqueue runqueues[OVM_MAX_CORES];
static u32 core_count;
static struct sched_entity vcpus[H_MAX_VCPUS];
static u32 vcpu_core[H_MAX_VCPUS];
static u32 vcpu_count;

void h_reset(u32 cores, u64 nrt_slice, u64 min_period)
{
	core_count = cores;
	vcpu_count = 0;
	for (u32 core = 0; core < cores; core++)
		sched_init(&runqueues[core], core, nrt_slice, min_period);
}

/* The new vCPU's index, or a negative enum sched_status. */
int h_attach(u32 core, u32 level)
{
	if (core >= core_count || vcpu_count == H_MAX_VCPUS)
		return SCHED_E_FULL;
	u32 id = vcpu_count;
	enum sched_status status =
		sched_attach(&runqueues[core], &vcpus[id], (enum rt_level)level, id);
	if (status != SCHED_OK)
		return status;
	vcpu_core[id] = core;
	vcpu_count++;
	return (int)id;
}

int h_set_rt(u32 vcpu, u64 now, u64 deadline, u64 period, u64 budget)
{
	return sched_set_realtime(&runqueues[vcpu_core[vcpu]], &vcpus[vcpu], now, deadline,
				  period, budget);
}

void h_job_done(u32 vcpu, u64 now)
{
	sched_job_done(&runqueues[vcpu_core[vcpu]], &vcpus[vcpu], now);
}

/* sched_job_done_pick: the picked vCPU's index, -1 to idle, -2 when it is not its case. */
int h_job_done_pick(u32 vcpu, u64 now)
{
	struct sched_entity *picked =
		sched_job_done_pick(&runqueues[vcpu_core[vcpu]], &vcpus[vcpu], now);
	return picked ? (int)picked->id : -2;
}

void h_block(u32 vcpu, u64 now)
{
	sched_block(&runqueues[vcpu_core[vcpu]], &vcpus[vcpu], now);
}

int h_unblock(u32 vcpu)
{
	return sched_unblock(&runqueues[vcpu_core[vcpu]], &vcpus[vcpu]);
}

void h_update(u32 core, u64 now)
{
	sched_update(&runqueues[core], now);
}

/* The picked vCPU's index, or -1 to idle. */
int h_pick(u32 core, u64 now)
{
	struct sched_entity *picked = sched_pick(&runqueues[core], now);
	return picked ? (int)picked->id : -1;
}

u64 h_next_event(u32 core)
{
	return sched_next_event(&runqueues[core]);
}

u64 h_budget_event(u32 core)
{
	return sched_budget_event(&runqueues[core]);
}

u32 h_overruns(u32 vcpu)
{
	return vcpus[vcpu].overruns;
}

u32 h_misses(u32 vcpu)
{
	return vcpus[vcpu].misses;
}

u64 h_max_detect_delay(u32 vcpu)
{
	return vcpus[vcpu].max_detect_delay;
}

u32 h_jobs_done(u32 vcpu)
{
	return vcpus[vcpu].jobs_done;
}

u64 h_runtime(u32 vcpu)
{
	return vcpus[vcpu].runtime;
}

/*
 * edf_admission over `count` tasks given as three arrays. Returns 1 if
 * schedulable; the other results go to `out`: utilization in ppm, failed_at,
 * demand, too_many_points.
 */
int h_admission(u32 count, const u64 *deadline, const u64 *period, const u64 *budget, u64 *out)
{
	struct rt_task tasks[ADMISSION_MAX_TASKS];

	if (count > ADMISSION_MAX_TASKS)
		return -1;
	for (u32 i = 0; i < count; i++)
		tasks[i] = (struct rt_task){ deadline[i], period[i], budget[i] };
	struct admission_result result = edf_admission(tasks, count);
	out[0] = result.utilization_ppm;
	out[1] = result.failed_at;
	out[2] = result.demand;
	out[3] = result.too_many_points;
	return result.schedulable;
}
