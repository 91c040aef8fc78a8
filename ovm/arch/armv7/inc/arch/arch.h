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

/* Non-secure SVC, IRQs masked until the guest unmasks them, FIQs (OVM's) open;
 * r0-r3 = the guest's entry arguments. */
void arch_regs_init(struct arch_regs *regs, u32 entry, const u32 args[4]);
/* Make memory OVM wrote visible to a guest that runs with its caches off. */
void arch_dcache_clean_range(u32 addr, u32 size);

/* The vCPU state beyond the frame: banked registers and non-secure CP15 (context.S). */
void arch_context_save(struct arch_context *ctx);
void arch_context_restore(const struct arch_context *ctx);

/* Memory separation: VM `vm`'s flat translation table over [base, base + size). */
struct vm_config;

struct guest_mapping {
	u32 supersections;
	u32 sections;
	/* 4 KiB device pages passed through; a device that could not be mapped is not counted. */
	u32 device_pages;
};
struct guest_mapping arch_guest_map(u32 vm, const struct vm_config *config);
void arch_context_use_table(struct arch_context *ctx, u32 vm);

/* Time: the global timer's counter, and this core's one-shot event on its comparator. */
void arch_time_init(void);
u64 arch_now(void);
u64 arch_us_to_ticks(u64 us);
u64 arch_ticks_to_ns(u64 ticks);
void arch_event_timer_init(void);
void arch_event_timer_set(u64 when);
/* The comparator has matched since it was set: its interrupt is on its way. */
bool arch_event_timer_fired(void);
void arch_event_timer_ack(void);
u32 arch_event_timer_irq(void);

/* Interrupt lines: OVM's (group 0, FIQ to the monitor) or left to a guest (group 1). */
void arch_irq_claim(u32 irq, u32 core);
void arch_irq_mask(u32 irq);
void arch_irq_unmask(u32 irq);
/* Take every interrupt pending at this core's GIC interface, for a core that idles. */
void arch_irq_poll(void);
void arch_wait_for_interrupt(void);

/* A core wakes another to schedule again (its queues changed): claim, send, recognise. */
void arch_kick_init(void);
void arch_kick(u32 core);
u32 arch_kick_irq(void);

/* The GIC addresses the monitor's FIQ fast path uses (core/irq.h). */
void arch_irq_fast_regs(u32 *gicc, u32 *gicd_icenabler);

/* Emulate an IRQ exception into the running guest (its banked registers are live). */
void arch_inject_irq(struct arch_regs *regs);
bool arch_guest_irqs_masked(const struct arch_regs *regs);

__attribute__((noreturn)) void arch_enter_guest(struct arch_regs *regs);

/* The core's side of the world switch (core/entry.c). */
enum entry_kind { ENTRY_SMC, ENTRY_FIQ, ENTRY_IRQ, ENTRY_KINDS };
void core_entry(u32 core, enum entry_kind kind);
void hypercall_dispatch(struct arch_regs *regs);
void irq_dispatch(u32 irq);
/* The frame to resume: the same vCPU or the one the scheduler picked. */
struct arch_regs *core_exit(void);
/* After a hypercall: the caller again at once, unless the call changed what runs. */
struct arch_regs *core_exit_hypercall(void);

#endif
