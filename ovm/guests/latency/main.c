/*
 * Interrupt latency on the direct path: the core's private timer interrupts
 * every period and the line goes straight to this program's vector, with
 * nothing in between. Built two ways from this one source: as an HRT guest
 * (OVM hands it the core and the line) and natively, without OVM, as the
 * baseline and the physical limit. The two must measure the same.
 * Arguments: period in us (default 100), samples (default and at most 1,000).
 * Output: the record series irq_latency.direct, in timer ticks.
 */
#include "guest.h"
#include "periph.h"
#include "probe.h"

static struct latency_probe probe;

void guest_irq(void)
{
	u32 ticks = probe_ticks_since_expiry(&probe);
	u32 iar = mmio_read(platform.periph_base + GICC_IAR);

	if ((iar & 0x3ff) == IRQ_PRIVATE_TIMER)
		probe_keep(&probe, ticks);
	mmio_write(platform.periph_base + GICC_EOIR, iar);
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

	u32 periph = platform.periph_base;
	mmio_write(periph + GICC_PMR, 0xf0);
	mmio_write(periph + GICC_CTLR, 1);
	mmio_write(periph + GICD_ISENABLER0, BIT(IRQ_PRIVATE_TIMER));
	probe_start(&probe, PTIMER_BASE, period_us, samples);
	irqs_on();
	/* Polling, not WFI: see the HRT guest (QEMU 7.2, -icount). Nothing else runs meanwhile. */
	while (!probe_done(&probe))
		;
	probe_report(&probe, "irq_latency.direct");
	gprintf("latency probe: done\n");
}
