#ifndef ARCH_GIC_H
#define ARCH_GIC_H

#include <lib/types.h>

#define GIC_SPURIOUS 1022

void gic_dist_init(u32 lines);
void gic_cpu_init(void);
/* Make irq a secure group-0 interrupt (FIQ to the monitor), for `core` if an SPI, and enable it.
 * SGIs and PPIs are banked: claim them on the core they belong to. */
void gic_claim(u32 irq, u8 priority, u32 core);
void gic_mask(u32 irq);
void gic_unmask(u32 irq);
u32 gic_ack(void);
void gic_eoi(u32 iar);

#endif
