/*
 * OVM's time base and event timer: the Cortex-A9 global timer. Its counter
 * is shared by the cores; each core has its own comparator raising PPI 27.
 * No guest may write it. The private timers and watchdogs are the guests':
 * a supervisor-mode HRT guest drives its core's directly, any other guest
 * through OVM's proxy here.
 */
#include <arch/arch.h>
#include <arch/cpu.h>
#include <arch/gic.h>
#include <arch/ovm_lines.h>
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

#define EVENT_PRIORITY 0x40

/* SCU SNSAC: per core n, non-secure access to the SCU (bit n), to the private timer and
 * watchdog (bit 4 + n), to the global timer (bit 8 + n). */
#define SNSAC_PRIVATE_TIMERS(cores) ((u32)(cores) << 4)
#define SNSAC_GLOBAL_TIMER(cores) ((u32)(cores) << 8)

/* A core's private timer and watchdog, and their registers from each one's base. */
#define WATCHDOG_BASE (PTIMER_BASE + 0x20)
#define TIMER_LOAD 0x0
#define TIMER_COUNTER 0x4
#define TIMER_CONTROL 0x8
#define TIMER_ISR 0xc
/* Enable, auto-reload, interrupt enable, prescaler: what a guest may set. Not bit 3,
 * the watchdog's watchdog mode, which resets the core and cannot be undone by a write. */
#define TIMER_CONTROL_GUEST (0x7u | (0xffu << 8))

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
	gic_claim(OVM_LINE_EVENT_TIMER, EVENT_PRIORITY, cpu_id());
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
	return OVM_LINE_EVENT_TIMER;
}

void arch_core_timers_grant(u32 cores)
{
	u32 all = BIT(board.cores) - 1;

	mmio_write32(SCU_BASE + SCU_SNSAC,
		     SNSAC_GLOBAL_TIMER(all) | SNSAC_PRIVATE_TIMERS(cores & all));
}

bool arch_core_timer_access(enum arch_core_timer timer, u32 reg, bool write, u32 value,
			    u32 *result)
{
	u32 base = timer == ARCH_WATCHDOG ? WATCHDOG_BASE : PTIMER_BASE;

	if (reg > TIMER_ISR || reg % 4)
		return false;
	if (!write) {
		*result = mmio_read32(base + reg);
		return true;
	}
	if (reg == TIMER_CONTROL && (value & ~TIMER_CONTROL_GUEST))
		return false;
	mmio_write32(base + reg, value);
	return true;
}
