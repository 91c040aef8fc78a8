/*
 * Interrupt-latency probes, the paper's method: one of the core's timers
 * (private timer or watchdog) counts down in auto-reload mode, and the
 * handler's first act reads its counter. Ticks since expiry are then the
 * latency from the hardware event to the handler. Samples stay in RAM
 * while measuring and are printed as a record series afterwards.
 */
#ifndef GUEST_PROBE_H
#define GUEST_PROBE_H

#include "guest.h"
#include "periph.h"

#define PROBE_MAX_SAMPLES 1000

struct latency_probe {
	u32 timer;	/* which of the core's timers: PTIMER_BASE or WDT_BASE */
	u32 counter;	/* its counter's address, read directly in either mode */
	u32 load;	/* its reload value, in ticks */
	u32 wanted;	/* samples to take, at most PROBE_MAX_SAMPLES */
	bool one_at_a_time;	/* stop the timer at each sample; probe_rearm restarts it */
	volatile u32 taken;
	u32 samples[PROBE_MAX_SAMPLES];
};

/*
 * Ticks since the timer expired. In auto-reload mode the counter shows 0
 * for one tick at expiry and then counts down from the reload value, hence
 * the + 1. Inline, so that this read is the handler's first device access.
 */
static inline u32 probe_ticks_since_expiry(const struct latency_probe *probe)
{
	return probe->load - mmio_read(probe->counter) + 1;
}

/*
 * Program the timer's period and the samples wanted. A periodic probe starts
 * at once; a one-at-a-time probe at each probe_rearm.
 */
void probe_start(struct latency_probe *probe, u32 timer_offset, u32 period_us, u32 wanted);
/* In the handler, after the read: keep the sample and clear the timer's event. */
void probe_keep(struct latency_probe *probe, u32 ticks);
void probe_stop(struct latency_probe *probe);
/* One sample at a time: stop the timer at each sample and restart it here. */
void probe_rearm(struct latency_probe *probe);
bool probe_done(const struct latency_probe *probe);
/* Print the samples as the record series `series` (unit: timer ticks). */
void probe_report(const struct latency_probe *probe, const char *series);

/* The global timer's low word: cheap timestamps, compared by unsigned difference. */
static inline u32 now_ticks_low(void)
{
	return mmio_read(platform.periph_base + GTIMER_COUNTER_LO);
}

#endif
