/*
 * latency_rounds' rounds. Each is one V record, irq_latency_round: its number,
 * its samples' count, min and max, and the whole distribution as counts per
 * value (key at_<ticks>), up to ROUND_VALUES distinct values, the rest counted as
 * `other`. One line a round, not a series of 1,000: the HRT's lines go through
 * the console core 0 serves, whose other VM (the SRT) must not wait behind them.
 */
#include "guest.h"
#include "periph.h"
#include "probe.h"
#include "records.h"

#include <lib/format.h>
#include <stdarg.h>

#define ROUND_GAP_US 1000000u
#define ROUND_VALUES 8
#define KEY_SIZE 16

struct distribution {
	u32 value[ROUND_VALUES];
	u32 count[ROUND_VALUES];
	u32 distinct, other, min, max;
};

/* Enable, interrupt, one shot: the probe's handler stops it again (probe_keep). */
#define TIMER_ENABLE_ONE_SHOT_IRQ 0x5u

/*
 * Halted between rounds, woken by its timer's one shot. Not polling: on QEMU a busy
 * core takes a turn of the emulator's round robin every time the other core's Linux
 * broadcasts a TLB invalidation (TLBIMVAAIS, one per page it remaps), which slows
 * Linux's boot a hundredfold and costs core 0's SRT deadlines. Masked while it looks,
 * so the one shot cannot come between the look and the WFI (which would then sleep
 * for good); WFI wakes on an interrupt pending while masked. In user mode (no CPSR.I
 * of its own) it polls. A round itself polls, as the latency guest does: halted
 * during a round, the HRT stopped after its first (QEMU 7.2, -icount).
 */
static void pause_us(struct latency_probe *probe, u32 us)
{
	u64 until = now_ticks() + us_to_ticks(us);

	core_timer_write(probe->timer, TIMER_LOAD, (u32)us_to_ticks(us));
	core_timer_write(probe->timer, TIMER_CONTROL, TIMER_ENABLE_ONE_SHOT_IRQ);
	if (guest_in_user_mode) {
		while (now_ticks() < until)
			;
		return;
	}
	for (;;) {
		__asm__ volatile("cpsid i" ::: "memory");
		if (now_ticks() >= until)
			break;
		wait_for_interrupt();
		__asm__ volatile("cpsie i" ::: "memory");
	}
	__asm__ volatile("cpsie i" ::: "memory");
}

static void tally(struct distribution *d, const struct latency_probe *probe)
{
	*d = (struct distribution){ .min = 0xffffffffu };
	for (u32 i = 0; i < probe->taken; i++) {
		u32 ticks = probe->samples[i], slot = 0;
		d->min = ticks < d->min ? ticks : d->min;
		d->max = ticks > d->max ? ticks : d->max;
		while (slot < d->distinct && d->value[slot] != ticks)
			slot++;
		if (slot == d->distinct && d->distinct < ROUND_VALUES)
			d->value[d->distinct++] = ticks;
		if (slot < d->distinct)
			d->count[slot]++;
		else
			d->other++;
	}
}

struct key_buffer {
	char *at, *end;
};

static void key_put(void *ctx, char c)
{
	struct key_buffer *buffer = ctx;

	if (buffer->at + 1 < buffer->end)
		*buffer->at++ = c;
}

/* Into key[KEY_SIZE], through the formatter the guests share with OVM. */
static const char *key_printf(char *key, const char *fmt, ...)
{
	struct key_buffer buffer = { key, key + KEY_SIZE };
	va_list ap;

	va_start(ap, fmt);
	format(key_put, &buffer, fmt, ap);
	va_end(ap);
	*buffer.at = '\0';
	return key;
}

static void report_round(u32 round, const struct latency_probe *probe)
{
	static struct distribution d;
	static char keys[ROUND_VALUES][KEY_SIZE];
	struct record_value values[5 + ROUND_VALUES] = {
		{ "round", (s32)round },
		{ "n", (s32)probe->taken },
	};
	u32 count = 2;

	tally(&d, probe);
	values[count++] = (struct record_value){ "min", (s32)d.min };
	values[count++] = (struct record_value){ "max", (s32)d.max };
	values[count++] = (struct record_value){ "other", (s32)d.other };
	for (u32 i = 0; i < d.distinct; i++)
		values[count++] = (struct record_value){ key_printf(keys[i], "at_%u", d.value[i]), (s32)d.count[i] };
	record_values("irq_latency_round", values, count);
}

void probe_more(struct latency_probe *probe, u32 period_us, u32 samples)
{
	for (u32 round = 1;; round++) {
		pause_us(probe, ROUND_GAP_US);
		probe_start(probe, PTIMER_BASE, period_us, samples);
		while (!probe_done(probe))
			;
		report_round(round, probe);
	}
}
