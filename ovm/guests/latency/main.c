/*
 * Interrupt latency on the direct path: the core's private timer interrupts
 * every period and the line goes straight to this program's vector, with
 * nothing in between. Built two ways from this one source: as an HRT guest
 * (OVM hands it the core and the line) and natively, without OVM, as the
 * baseline and the physical limit. The two must measure the same. As an HRT
 * guest in user mode (`privilege: user`) the line comes through OVM's upcall
 * instead: the price of isolation.
 * Arguments: period in us (default 100), samples (default and at most 1,000).
 * Output: the record series irq_latency.direct, in timer ticks.
 */
#include "guest.h"
#include "periph.h"
#include "probe.h"

static struct latency_probe probe;

/* After the first series; a program built on this one may go on measuring (latency_rounds). */
__attribute__((weak)) void probe_more(struct latency_probe *done, u32 period_us, u32 samples)
{
	(void)done;
	(void)period_us;
	(void)samples;
}

void guest_irq(void)
{
	u32 ticks = probe_ticks_since_expiry(&probe);

	for (u32 id; (id = irq_next()) != OVM_IRQ_NONE;) {
		if (id == IRQ_PRIVATE_TIMER)
			probe_keep(&probe, ticks);
		irq_end(id);
	}
}

void guest_main(u32 vcpu_id, u32 vcpu_count, u32 period_us, u32 samples)
{
	(void)vcpu_id;
	(void)vcpu_count;
	platform_init();
	if (!period_us)
		period_us = 100;
	if (!samples || samples > PROBE_MAX_SAMPLES)
		samples = PROBE_MAX_SAMPLES;
	gprintf("latency probe: private timer every %u us, %u samples\n", period_us, samples);

	irq_line_enable(IRQ_PRIVATE_TIMER);
	probe_start(&probe, PTIMER_BASE, period_us, samples);
	irqs_on();
	/* Polling, not WFI: see the HRT guest (QEMU 7.2, -icount). Nothing else runs meanwhile. */
	while (!probe_done(&probe))
		;
	probe_report(&probe, "irq_latency.direct");
	gprintf("latency probe: done\n");
	probe_more(&probe, period_us, samples);
}
