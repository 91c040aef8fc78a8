/* The core's private timer drives OVM's tick; it raises PPI 29 on its own core only. */
#include <arch/arch.h>
#include <arch/cpu.h>
#include <arch/gic.h>
#include <arch/periph.h>

#define PTIMER_LOAD 0x00
#define PTIMER_CONTROL 0x08
#define PTIMER_ISR 0x0c

#define PTIMER_ENABLE BIT(0)
#define PTIMER_AUTO_RELOAD BIT(1)
#define PTIMER_IRQ_ENABLE BIT(2)

#define TICK_PRIORITY 0x40

void arch_tick_start(u32 period_us)
{
	u32 ticks = board.private_timer_hz / 1000000u * period_us;

	mmio_write32(PTIMER_BASE + PTIMER_CONTROL, 0);
	mmio_write32(PTIMER_BASE + PTIMER_ISR, 1);
	gic_claim(IRQ_PRIVATE_TIMER, TICK_PRIORITY);
	mmio_write32(PTIMER_BASE + PTIMER_LOAD, ticks - 1);
	mmio_write32(PTIMER_BASE + PTIMER_CONTROL,
		     PTIMER_ENABLE | PTIMER_AUTO_RELOAD | PTIMER_IRQ_ENABLE);
}

u32 arch_tick_irq(void)
{
	return IRQ_PRIVATE_TIMER;
}

void arch_tick_ack(void)
{
	mmio_write32(PTIMER_BASE + PTIMER_ISR, 1);
}
