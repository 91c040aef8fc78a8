/*
 * SRT: a periodic task. It hands OVM its deadline, period and execution
 * time, does each period's job (busy work of a given length, standing in
 * for the paper's animation drawn over serial) and ends it with vm_exit.
 * OVM's deadline-miss interrupt runs the handler below.
 * Arguments: period in us (default 1000), work per job in us (default 750).
 * Work longer than the period overloads the core on purpose: every job then
 * misses exactly one deadline.
 * With each report it checks what a neighbour must not be able to touch: a
 * canary in its own memory, and OVM's code and translation tables as OVM
 * hashes them (HC_SELF_CHECK), a few chunks per job.
 * Each job's first and last global-timer reads go to switch_ring, in place and
 * without a line on the console: the SRT's side of the vCPU switches with the VM
 * sharing its core, read by a debugger or QEMU's monitor over a window chosen
 * afterwards (lab.evaluation.linux_host pairs it with Linux's gaps).
 */
#include "guest.h"
#include "probe.h"
#include "records.h"

/* OVM's chunks hashed per job: a few hundred microseconds, within any job's budget. */
#define CHECK_CHUNKS_PER_JOB 8
#define CANARY_WORDS 1024

static volatile u32 handler_runs;
static volatile u32 canary[CANARY_WORDS];
static volatile u32 max_detect_ticks;

/* 8 s of jobs at 1 ms: room for the reader to stop the machine after its window. */
#define SWITCH_RING_JOBS 8192
/* Global, so that a reader finds it by its symbol: next counts jobs (slot next %
 * SWITCH_RING_JOBS is written next), stamps hold each job's (first, last) read; slots
 * from next on are not written yet. In .noinit: zeroing 64 KiB at start would cost
 * the VM most of its first job (the scenario's reservation holds from boot). */
struct switch_ring {
	u32 next;
	u32 stamps[SWITCH_RING_JOBS][2];
};
__attribute__((section(".noinit"))) volatile struct switch_ring switch_ring;

void guest_irq(void)
{
	for (;;) {
		u32 id = hypercall(HC_IRQ_ACK, 0, 0, 0).r1;
		if (id == OVM_IRQ_NONE)
			return;
		if (id == OVM_VIRQ_DEADLINE_MISS) {
			handler_runs++;
			u32 delay = hypercall(HC_RT_STATUS, 0, 0, 0).r3;
			if (delay > max_detect_ticks)
				max_detect_ticks = delay;
		}
		hypercall(HC_IRQ_EOI, id, 0, 0);
	}
}

static void report_record(u32 jobs, u32 done, u32 misses, u32 runs, u32 detect_ticks)
{
	const struct record_value values[] = {
		{ "jobs", (s32)jobs },
		{ "done", (s32)done },
		{ "misses", (s32)misses },
		{ "handler_runs", (s32)runs },
		{ "max_detect_us", (s32)ticks_to_us(detect_ticks) },
		{ "max_detect_ticks", (s32)detect_ticks },
	};

	record_values("deadline", values, ARRAY_SIZE(values));
}

static u32 canary_word(u32 i)
{
	return 0x5a17c0deu ^ (i * 2654435761u);
}

/* In jobs of their own, after a report: OVM's chunks that are not as at boot, and the
 * canary's changed words. */
static void check_integrity(u32 *jobs)
{
	u32 changed = 0, chunks = 1, words = 0;

	for (u32 chunk = 0; chunk < chunks;) {
		for (u32 n = 0; n < CHECK_CHUNKS_PER_JOB && chunk < chunks; n++, chunk++) {
			struct hc_result check = hypercall(HC_SELF_CHECK, chunk, 0, 0);
			if (check.status != OVM_OK) {
				gprintf("integrity: self_check of chunk %u -> %d\n", chunk, check.status);
				chunks = 0;
				break;
			}
			chunks = check.r2;
			changed += check.r1 != 1;
		}
		if (chunk < chunks) {
			hypercall(HC_VM_EXIT, 0, 0, 0);
			(*jobs)++;
		}
	}
	for (u32 i = 0; i < CANARY_WORDS; i++)
		words += canary[i] != canary_word(i);
	gprintf("integrity: %u of %u OVM chunks changed since boot; canary: %u of %u words "
		"changed\n", changed, chunks, words, CANARY_WORDS);
	hypercall(HC_VM_EXIT, 0, 0, 0);
	(*jobs)++;
}

/*
 * A job's work: busy for `ticks`. Weak, so that a variant of this guest (srt_vfp)
 * can do its work with VFP/NEON and say in each report what it found.
 */
__attribute__((weak)) void job_work(u64 ticks)
{
	u64 start = now_ticks();

	while (now_ticks() - start < ticks)
		;
}

__attribute__((weak)) void job_report(u32 jobs)
{
	(void)jobs;
}

static s32 declare(u32 deadline, u32 period, u32 budget)
{
	return hypercall(HC_SET_REALTIME_INFO, deadline, period, budget).status;
}

void guest_main(u32 vcpu_id, u32 vcpu_count, u32 period_us, u32 work_us)
{
	(void)vcpu_id;
	(void)vcpu_count;
	platform_init();
	if (!period_us)
		period_us = 1000;
	if (!work_us)
		work_us = 750;
	/*
	 * The budget covers the work and 15% of the period for what is not the
	 * guest's: OVM's ticks and switches, and under QEMU's -icount the time
	 * the other core runs while this one waits for its turn.
	 */
	u32 headroom_us = period_us * 3 / 20;
	u32 budget_us = work_us + headroom_us < period_us ? work_us + headroom_us : period_us;
	bool overload = work_us > period_us;
	/* Every 100 jobs when overloaded, else every 10 s of jobs (10,000 at 1 ms). */
	u32 report_every = overload ? 100 : 10000000u / period_us;

	gprintf("bad parameters refused: budget 0 -> %d, budget > deadline -> %d, "
		"period below minimum -> %d, info (host only) -> %d\n",
		declare(period_us, period_us, 0), declare(period_us / 2, period_us, period_us),
		declare(1, 1, 1), hypercall(HC_INFO, 0, 0, 0).status);
	s32 status = declare(period_us, period_us, budget_us);
	gprintf("set_realtime_info(D=%u, T=%u, C=%u us) -> %d; jobs of %u us%s\n", period_us,
		period_us, budget_us, status, work_us, overload ? " (overload)" : "");
	for (u32 i = 0; i < CANARY_WORDS; i++)
		canary[i] = canary_word(i);
	switch_ring.next = 0;
	irqs_on();

	/*
	 * Start counting at a release, after a second of jobs: the other guests'
	 * start-up output (the HRT guest prints its samples then) goes through the
	 * one console lock and would be counted against this core's schedule.
	 */
	for (u32 settle = 1000000u / period_us; settle; settle--)
		hypercall(HC_VM_EXIT, 0, 0, 0);
	struct hc_result base = hypercall(HC_RT_STATUS, 0, 0, 0);
	u32 base_runs = handler_runs;
	max_detect_ticks = 0;
	u64 work = us_to_ticks(work_us);
	for (u32 jobs = 0;;) {
		u32 switch_in = now_ticks_low();
		job_work(work);
		u32 slot = switch_ring.next % SWITCH_RING_JOBS;
		switch_ring.stamps[slot][0] = switch_in;
		switch_ring.stamps[slot][1] = now_ticks_low();
		switch_ring.next++;
		hypercall(HC_VM_EXIT, 0, 0, 0);
		if (++jobs % report_every)
			continue;
		/* The report is a job of its own: formatting it and queueing it for the console
		 * would not fit in a working job's slack. */
		struct hc_result rt = hypercall(HC_RT_STATUS, 0, 0, 0);
		u32 runs = handler_runs, detect_ticks = max_detect_ticks;
		gprintf("%u jobs: OVM counted %u done, %u deadline misses; miss handler ran %u "
			"times; worst detection delay %u us (%u ticks)\n",
			jobs, rt.r2 - base.r2, rt.r1 - base.r1, runs - base_runs,
			ticks_to_us(detect_ticks), detect_ticks);
		job_report(jobs);
		/* The first report is the lab's; later ones only show the guest going on. */
		if (jobs == report_every)
			report_record(jobs, rt.r2 - base.r2, rt.r1 - base.r1, runs - base_runs,
				      detect_ticks);
		hypercall(HC_VM_EXIT, 0, 0, 0);
		jobs++;
		check_integrity(&jobs);
	}
}
