#ifndef CORE_IRQ_H
#define CORE_IRQ_H

#include <core/vm.h>

/* One core's routing, as the monitor's FIQ fast path reads it (arch/armv7/asm_defs.c). */
struct irq_lines {
	/* The vCPU each line goes to on this core; its address is also its frame's. */
	struct vcpu *targets[VIRQ_HW_LINES];
	/* The arch's GIC CPU interface and distributor clear-enable registers. */
	u32 gicc;
	u32 gicd_icenabler;
	/* Interrupts the fast path delivered or deferred: OVM entries that never reached C. */
	u32 fast_deliveries;
};

extern struct irq_lines irq_lines[OVM_MAX_CORES];

/* Claim this core's routed lines and remember their target vCPUs. */
void irq_routes_init(u32 core);
/* The guest's end of interrupt: unmask the line again. False if `id` was not acknowledged. */
bool irq_end(struct vcpu *vcpu, u32 id);

#endif
