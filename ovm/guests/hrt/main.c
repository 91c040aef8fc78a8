/*
 * HRT: a control loop driven by its core's private timer. OVM has handed
 * the core over and takes no tick here. In supervisor mode (`privilege:
 * kernel`) the timer's interrupt is a group-1 line that this guest takes and
 * ends at the GIC itself, so no OVM instruction lies on its path; in user
 * mode it comes as OVM's upcall. The guest counts OVM's entries on its core to
 * show it.
 * Arguments: period in us (default 100), periods per report (default 1000).
 * The latency of each of the first 1,000 periods (timer ticks from expiry to
 * the handler's read) is printed as the record series irq_latency.HRT.
 */
#include "guest.h"
#include "periph.h"
#include "records.h"

#define MAX_SAMPLES 1000

static volatile u32 periods;
static u32 timer_load;
static u32 latency_min = 0xffffffffu, latency_max;
/* Kept in RAM during the loop and printed after it, so the loop makes no hypercall. */
static u32 latency_samples[MAX_SAMPLES];

static void timer_expired(u32 count)
{
	/* Ticks since expiry: the counter reloaded at expiry and has counted down since. */
	u32 latency = timer_load - count;
	if (latency < latency_min)
		latency_min = latency;
	if (latency > latency_max)
		latency_max = latency;
	if (periods < MAX_SAMPLES)
		latency_samples[periods] = latency;
	periods++;
}

void guest_irq(void)
{
	u32 count = core_timer_read(PTIMER_BASE, TIMER_COUNTER);

	for (u32 id; (id = irq_next()) != OVM_IRQ_NONE;) {
		if (id == IRQ_PRIVATE_TIMER) {
			core_timer_write(PTIMER_BASE, TIMER_ISR, 1);
			timer_expired(count);
		}
		irq_end(id);
	}
}

/*
 * A control loop's idle time, spent polling. Not WFI: under QEMU 7.2 with
 * -icount, a core halted in WFI was not woken by its private timer's
 * non-secure IRQ (seen with this guest), while polling sees every period.
 */
static void wait_periods(u32 count)
{
	while (periods < count)
		;
}

static struct hc_result core_stats(u32 core)
{
	return hypercall(HC_CORE_STATS, core, 0, 0);
}

void guest_main(u32 vcpu_id, u32 vcpu_count, u32 period_us, u32 report_every)
{
	(void)vcpu_id;
	(void)vcpu_count;
	platform_init();
	if (!period_us)
		period_us = 100;
	if (!report_every)
		report_every = 1000;
	u32 core = hypercall(HC_VCPU_INFO, 0, 0, 0).r3;
	struct hc_result host_only = hypercall(HC_INFO, 0, 0, 0);
	gprintf("control loop on core %u, period %u us; host-only info -> %d\n", core, period_us,
		host_only.status);

	timer_load = (u32)us_to_ticks(period_us) - 1;
	irq_line_enable(IRQ_PRIVATE_TIMER);
	core_timer_write(PTIMER_BASE, TIMER_LOAD, timer_load);

	struct hc_result before = core_stats(core);
	core_timer_write(PTIMER_BASE, TIMER_CONTROL, TIMER_ENABLE_AUTO_IRQ);
	irqs_on();
	wait_periods(report_every);
	struct hc_result after = core_stats(core);
	/* The second core_stats call is itself an entry: it is not part of the loop. */
	gprintf("core %u: %u timer interrupts taken directly; OVM entries during the loop: "
		"smc %u fiq %u irq %u; latency %u-%u ticks\n",
		core, report_every, after.r1 - before.r1 - 1, after.r2 - before.r2,
		after.r3 - before.r3, latency_min, latency_max);

	record_series("irq_latency.HRT", "ticks", latency_samples,
		      report_every < MAX_SAMPLES ? report_every : MAX_SAMPLES);

	/* Rarely: a line from this core holds the console lock that core 0's guests need too. */
	for (u32 next = 100 * report_every;; next += 100 * report_every) {
		wait_periods(next);
		gprintf("progress: %u periods\n", next);
	}
}
