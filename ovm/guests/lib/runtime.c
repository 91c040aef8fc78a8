#include "guest.h"
#include "periph.h"

struct platform platform;

/* 0: no probe; 1: guest_probe_read is reading; 2: that read faulted (vectors.S). */
volatile u32 probe_state;

bool guest_probe_read(u32 addr, u32 *value)
{
	probe_state = 1;
	*value = *(volatile u32 *)(uintptr_t)addr;
	bool mapped = probe_state == 1;
	probe_state = 0;
	return mapped;
}

u64 now_ticks(void)
{
	u32 hi, lo;

	do {
		hi = mmio_read(platform.periph_base + GTIMER_COUNTER_HI);
		lo = mmio_read(platform.periph_base + GTIMER_COUNTER_LO);
	} while (hi != mmio_read(platform.periph_base + GTIMER_COUNTER_HI));
	return ((u64)hi << 32) | lo;
}

u32 time_read_overhead(void)
{
	u32 least = 0xffffffffu;

	for (u32 i = 0; i < 16; i++) {
		u64 t0 = now_ticks();
		u64 t1 = now_ticks();
		if ((u32)(t1 - t0) < least)
			least = (u32)(t1 - t0);
	}
	return least;
}

u64 us_to_ticks(u32 us)
{
	return (u64)us * (platform.timer_hz / 1000000u);
}

u32 ticks_to_us(u64 ticks)
{
	return (u32)(ticks / (platform.timer_hz / 1000000u));
}

static const char *const fault_names[] = { "?", "undefined instruction", "?", "prefetch abort",
					   "data abort" };

__attribute__((noreturn)) void guest_fault(u32 kind, u32 where)
{
	gprintf("FAULT: %s at %p\n", fault_names[kind], (void *)(uintptr_t)where);
	for (;;)
		wait_for_interrupt();
}
