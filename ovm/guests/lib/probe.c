#include "probe.h"
#include "records.h"

void probe_start(struct latency_probe *probe, u32 timer_offset, u32 period_us, u32 wanted)
{
	probe->timer = timer_offset;
	probe->counter = platform.periph_base + timer_offset + TIMER_COUNTER;
	probe->load = (u32)us_to_ticks(period_us) - 1;
	probe->wanted = wanted < PROBE_MAX_SAMPLES ? wanted : PROBE_MAX_SAMPLES;
	probe->taken = 0;
	core_timer_write(probe->timer, TIMER_CONTROL, 0);
	core_timer_write(probe->timer, TIMER_ISR, 1);
	core_timer_write(probe->timer, TIMER_LOAD, probe->load);
	if (!probe->one_at_a_time)
		core_timer_write(probe->timer, TIMER_CONTROL, TIMER_ENABLE_AUTO_IRQ);
}

void probe_keep(struct latency_probe *probe, u32 ticks)
{
	core_timer_write(probe->timer, TIMER_ISR, 1);
	if (probe->taken < probe->wanted)
		probe->samples[probe->taken++] = ticks;
	if (probe->taken == probe->wanted || probe->one_at_a_time)
		probe_stop(probe);
}

void probe_stop(struct latency_probe *probe)
{
	core_timer_write(probe->timer, TIMER_CONTROL, 0);
	core_timer_write(probe->timer, TIMER_ISR, 1);
}

void probe_rearm(struct latency_probe *probe)
{
	if (probe->taken < probe->wanted)
		core_timer_write(probe->timer, TIMER_CONTROL, TIMER_ENABLE_AUTO_IRQ);
}

bool probe_done(const struct latency_probe *probe)
{
	return probe->taken >= probe->wanted;
}

void probe_report(const struct latency_probe *probe, const char *series)
{
	record_series(series, "ticks", probe->samples, probe->taken);
}
