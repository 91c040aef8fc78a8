/*
 * Evaluation, the NRT side of the shared core: the host guest loading the
 * core, and two probes.
 * - vCPU switch: a tight loop of global-timer reads; a jump longer than
 *   GAP_US between two reads is time another vCPU held the core, and its
 *   ends (gap_begin, gap_end) pair with the SRT probe's switch_out/switch_in.
 * - Interrupt latency: core 0's watchdog in timer mode, a line OVM routes to
 *   this VM, restarted after each sample. When it expires while this vCPU
 *   holds the core OVM forwards it at once (irq_latency.NRT); when the SRT
 *   holds it, it waits for this vCPU's next dispatch (irq_deferred.NRT).
 * Argument 0: watchdog period in us (default 400, longer than an SRT job so
 * a deferred sample is still read before the timer reloads).
 */
#include "guest.h"
#include "probe.h"
#include "records.h"

#define SAMPLES PROBE_MAX_SAMPLES
/* Gaps kept: more than the SRT's measured jobs (1,100), which come after its warm-up. */
#define GAPS 1200
/* Far above OVM's own work on a tick, far below an SRT job. */
#define GAP_US 50

static struct latency_probe probe = { .one_at_a_time = true };
static u32 deferred[SAMPLES];
static volatile u32 deferred_count;
static u32 gap_begin[GAPS], gap_end[GAPS];
static u32 gaps, gap_ticks;
/* The loop's last timestamp, and the handler's first one (what a gap ends at when
 * an interrupt was injected as this vCPU came back). */
static volatile u32 loop_last, irq_at;
static volatile bool irq_seen;

void guest_irq(void)
{
	u32 ticks = probe_ticks_since_expiry(&probe);
	u32 at = now_ticks_low();

	for (;;) {
		u32 id = hypercall(HC_IRQ_ACK, 0, 0, 0).r1;
		if (id == OVM_IRQ_NONE)
			break;
		if (id == IRQ_WATCHDOG) {
			if (at - loop_last > gap_ticks) {
				probe_stop(&probe);
				if (deferred_count < SAMPLES)
					deferred[deferred_count++] = ticks;
			} else {
				probe_keep(&probe, ticks);
			}
		}
		hypercall(HC_IRQ_EOI, id, 0, 0);
	}
	if (!irq_seen) {
		irq_at = at;
		irq_seen = true;
	}
}

void guest_main(u32 vcpu_id, u32 vcpu_count, u32 wdt_period_us, u32 arg1)
{
	(void)vcpu_id;
	(void)vcpu_count;
	(void)arg1;
	platform_init();
	if (!wdt_period_us)
		wdt_period_us = 400;
	gprintf("NRT probe: watchdog every %u us, %u samples; gaps over %u us\n", wdt_period_us,
		SAMPLES, GAP_US);
	gap_ticks = (u32)us_to_ticks(GAP_US);
	probe_start(&probe, WDT_BASE, wdt_period_us, SAMPLES);
	irqs_on();
	probe_rearm(&probe);

	bool probing = true;
	loop_last = now_ticks_low();
	while (probing || gaps < GAPS) {
		u32 now = now_ticks_low();
		u32 first = now;
		if (irq_seen) {
			first = irq_at;
			irq_seen = false;
			probing = !probe_done(&probe);
			probe_rearm(&probe);
		}
		if (first - loop_last > gap_ticks && gaps < GAPS) {
			gap_begin[gaps] = loop_last;
			gap_end[gaps] = first;
			gaps++;
		}
		/* An interrupt taken after `now` was read ended a gap later than `now`: the
		 * loop resumes from there, or that gap would be counted twice. */
		loop_last = (s32)(first - now) > 0 ? first : now;
	}
	gprintf("NRT probe: %u interrupts at once, %u deferred; %u gaps\n", probe.taken,
		deferred_count, gaps);
	probe_report(&probe, "irq_latency.NRT");
	record_series("irq_deferred.NRT", "ticks", deferred, deferred_count);
	record_series("gap_begin.NRT", "ticks", gap_begin, gaps);
	record_series("gap_end.NRT", "ticks", gap_end, gaps);
	gprintf("NRT probe: done\n");
	for (;;)
		;
}
