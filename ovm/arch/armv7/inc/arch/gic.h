#ifndef ARCH_GIC_H
#define ARCH_GIC_H

#include <arch/cpu.h>
#include <arch/periph.h>
#include <lib/types.h>

#define GIC_SPURIOUS 1022

void gic_dist_init(u32 lines);
void gic_cpu_init(void);
/* Make irq a secure group-0 interrupt (FIQ to the monitor), for `core` if an SPI, and enable it.
 * SGIs and PPIs are banked: claim them on the core they belong to. */
void gic_claim(u32 irq, u8 priority, u32 core);
void gic_unmask(u32 irq);

/* Inline: these three are on the path of every forwarded interrupt. */
#define GICD_ICENABLER 0x180
#define GICC_IAR 0x0c
#define GICC_EOIR 0x10

static inline void gic_mask(u32 irq)
{
	mmio_write32(GICD_BASE + GICD_ICENABLER + (irq / 32) * 4, BIT(irq % 32));
}

static inline u32 gic_ack(void)
{
	return mmio_read32(GICC_BASE + GICC_IAR);
}

static inline void gic_eoi(u32 iar)
{
	mmio_write32(GICC_BASE + GICC_EOIR, iar);
}

#endif
