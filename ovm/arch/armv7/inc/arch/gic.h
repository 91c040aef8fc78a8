#ifndef ARCH_GIC_H
#define ARCH_GIC_H

#include <lib/types.h>

#define GIC_SPURIOUS 1022

void gic_dist_init(u32 lines);
void gic_cpu_init(void);
/* Make irq a secure group-0 interrupt (FIQ to the monitor) on this core and enable it. */
void gic_claim(u32 irq, u8 priority);
u32 gic_ack(void);
void gic_eoi(u32 iar);

#endif
