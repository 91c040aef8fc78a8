/*
 * What the core asks of the architecture. The core never touches a CP15
 * register, a GIC register or a mode switch itself.
 */
#ifndef ARCH_ARCH_H
#define ARCH_ARCH_H

#include <arch/regs.h>
#include <lib/types.h>

/* Boot core, once: the loader's caches off, GIC distributor, OVM's translation table. */
void arch_platform_init(void);
/* Every core: OVM's MMU and caches on, GIC CPU interface, non-secure access rights. */
void arch_cpu_init(u32 core);
/* Boot core: let the other cores leave their wait in boot.S. */
void arch_release_secondaries(void);

/* Non-secure SVC, IRQs masked until the guest unmasks them, FIQs (OVM's) open. */
void arch_regs_init(struct arch_regs *regs, u32 entry, u32 arg0, u32 arg1);
/* Make memory OVM wrote visible to a guest that runs with its caches off. */
void arch_dcache_clean_range(u32 addr, u32 size);

/* The core's periodic tick on the private timer, taken as a group-0 FIQ. */
void arch_tick_start(u32 period_us);
u32 arch_tick_irq(void);
void arch_tick_ack(void);

__attribute__((noreturn)) void arch_enter_guest(struct arch_regs *regs);

/* The core's side of the world switch: each returns the frame to resume. */
struct arch_regs *hypercall_dispatch(struct arch_regs *regs);
struct arch_regs *irq_dispatch(u32 irq, struct arch_regs *regs);

#endif
