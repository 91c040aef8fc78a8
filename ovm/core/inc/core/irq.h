#ifndef CORE_IRQ_H
#define CORE_IRQ_H

#include <core/vm.h>

/* Claim this core's routed lines and remember their target vCPUs. */
void irq_routes_init(u32 core);
/* The guest's end of interrupt: unmask the line again. False if `id` was not acknowledged. */
bool irq_end(struct vcpu *vcpu, u32 id);

#endif
