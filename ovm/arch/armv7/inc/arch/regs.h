#ifndef ARCH_REGS_H
#define ARCH_REGS_H

#include <lib/types.h>

/*
 * What the monitor vectors save of the interrupted non-secure world: the
 * general registers, then the return address and CPSR in the order SRSDB
 * pushes them. monitor.S builds and consumes exactly this layout.
 */
struct arch_regs {
	u32 r[13];
	u32 pc;
	u32 cpsr;
};

#define ARCH_REGS_SIZE (15 * 4)

_Static_assert(sizeof(struct arch_regs) == ARCH_REGS_SIZE, "monitor.S frame layout");

#endif
