/*
 * Evaluation, the SRT side of the shared core: a periodic task under EDF
 * whose every job is a probe.
 * - Interrupt latency: each job starts the core's private timer (a line OVM
 *   routes to this VM), which expires while the job runs, so the interrupt
 *   takes OVM's forwarding path (monitor entry, routing, injection) at once.
 * - vCPU switch: the job's first and last global-timer reads (switch_in,
 *   switch_out); the NRT probe stamps the other side of each switch.
 * Arguments: period in us (default 1000), work per job in us (default 300).
 * Output: record series irq_latency.SRT (timer ticks), switch_in.SRT and
 * switch_out.SRT (global-timer low words), after the last job.
 */
#include "guest.h"
#include "probe.h"
#include "records.h"

#define SAMPLES PROBE_MAX_SAMPLES
/* More jobs than samples: a switch counts only when the NRT probe saw both its ends. */
#define JOBS (SAMPLES + SAMPLES / 10)
/* Jobs before the first measured one: the guests' start-up lines go past meanwhile. */
#define WARMUP_JOBS 20
/* The timer expires this far into each job. */
#define PROBE_AFTER_US 50

static struct latency_probe probe = { .one_at_a_time = true };
static u32 switch_in[JOBS], switch_out[JOBS];

void guest_irq(void)
{
	u32 ticks = probe_ticks_since_expiry(&probe);

	for (;;) {
		u32 id = hypercall(HC_IRQ_ACK, 0, 0, 0).r1;
		if (id == OVM_IRQ_NONE)
			return;
		if (id == IRQ_PRIVATE_TIMER)
			probe_keep(&probe, ticks);
		hypercall(HC_IRQ_EOI, id, 0, 0);
	}
}

static void busy_for(u64 ticks)
{
	u64 start = now_ticks();
	while (now_ticks() - start < ticks)
		;
}

void guest_main(u32 vcpu_id, u32 vcpu_count, u32 period_us, u32 work_us)
{
	(void)vcpu_id;
	(void)vcpu_count;
	platform_init();
	if (!period_us)
		period_us = 1000;
	if (!work_us)
		work_us = 300;
	u32 budget_us = work_us + period_us * 3 / 20;
	s32 status = hypercall(HC_SET_REALTIME_INFO, period_us, period_us, budget_us).status;
	gprintf("SRT probe: set_realtime_info(D=T=%u, C=%u us) -> %d; jobs of %u us, %u measured\n",
		period_us, budget_us, status, work_us, JOBS);
	probe_start(&probe, PTIMER_BASE, PROBE_AFTER_US, SAMPLES);
	irqs_on();
	for (u32 job = 0; job < WARMUP_JOBS; job++)
		hypercall(HC_VM_EXIT, 0, 0, 0);

	u64 work = us_to_ticks(work_us);
	for (u32 job = 0; job < JOBS; job++) {
		switch_in[job] = now_ticks_low();
		probe_rearm(&probe);
		busy_for(work);
		switch_out[job] = now_ticks_low();
		hypercall(HC_VM_EXIT, 0, 0, 0);
	}
	struct hc_result rt = hypercall(HC_RT_STATUS, 0, 0, 0);
	gprintf("SRT probe: %u jobs measured, %u interrupts taken; deadline misses %u\n", JOBS,
		probe.taken, rt.r1);
	probe_report(&probe, "irq_latency.SRT");
	record_series("switch_in.SRT", "ticks", switch_in, JOBS);
	record_series("switch_out.SRT", "ticks", switch_out, JOBS);
	gprintf("SRT probe: done\n");
	/* Jobs go on as before: the NRT probe is still pairing switches with them. */
	for (;;) {
		busy_for(work);
		hypercall(HC_VM_EXIT, 0, 0, 0);
	}
}
