/*
 * OVM's time base and event timer: the Cortex-A9 global timer. Its counter
 * is shared by the cores; each core has its own comparator raising PPI 27.
 * The private timers and watchdogs stay free for the guests (an HRT guest
 * drives its core's private timer directly).
 */
#include <arch/arch.h>
#include <arch/cpu.h>
#include <arch/gic.h>
#include <arch/periph.h>

#define GT_COUNTER_LO 0x00
#define GT_COUNTER_HI 0x04
#define GT_CONTROL 0x08
#define GT_STATUS 0x0c
#define GT_COMPARATOR_LO 0x10
#define GT_COMPARATOR_HI 0x14

#define GT_TIMER_ENABLE BIT(0)
#define GT_COMP_ENABLE BIT(1)
#define GT_IRQ_ENABLE BIT(2)

#define IRQ_GLOBAL_TIMER 27
#define EVENT_PRIORITY 0x40

void arch_time_init(void)
{
	mmio_write32(GTIMER_BASE + GT_CONTROL, GT_TIMER_ENABLE);
}

u64 arch_now(void)
{
	u32 hi, lo;

	do {
		hi = mmio_read32(GTIMER_BASE + GT_COUNTER_HI);
		lo = mmio_read32(GTIMER_BASE + GT_COUNTER_LO);
	} while (hi != mmio_read32(GTIMER_BASE + GT_COUNTER_HI));
	return ((u64)hi << 32) | lo;
}

u64 arch_us_to_ticks(u64 us)
{
	return us * (board.private_timer_hz / 1000000u);
}

u64 arch_ticks_to_ns(u64 ticks)
{
	return ticks * 1000u / (board.private_timer_hz / 1000000u);
}

void arch_event_timer_init(void)
{
	gic_claim(IRQ_GLOBAL_TIMER, EVENT_PRIORITY, cpu_id());
}

void arch_event_timer_set(u64 when)
{
	mmio_write32(GTIMER_BASE + GT_CONTROL, GT_TIMER_ENABLE);
	mmio_write32(GTIMER_BASE + GT_STATUS, 1);
	mmio_write32(GTIMER_BASE + GT_COMPARATOR_LO, (u32)when);
	mmio_write32(GTIMER_BASE + GT_COMPARATOR_HI, (u32)(when >> 32));
	mmio_write32(GTIMER_BASE + GT_CONTROL, GT_TIMER_ENABLE | GT_COMP_ENABLE | GT_IRQ_ENABLE);
}

bool arch_event_timer_fired(void)
{
	return (mmio_read32(GTIMER_BASE + GT_STATUS) & 1u) != 0;
}

void arch_event_timer_ack(void)
{
	mmio_write32(GTIMER_BASE + GT_CONTROL, GT_TIMER_ENABLE);
	mmio_write32(GTIMER_BASE + GT_STATUS, 1);
}

u32 arch_event_timer_irq(void)
{
	return IRQ_GLOBAL_TIMER;
}
