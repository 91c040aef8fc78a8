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

/* Where a vCPU starts, r0-r3 = the guest's entry arguments, FIQs (OVM's) open. A
 * user-mode guest starts in non-secure USR with IRQs masked for good (its interrupts
 * are upcalls); a supervisor-mode guest in non-secure SVC with IRQs masked until it
 * unmasks them. */
void arch_regs_init(struct arch_regs *regs, u32 entry, const u32 args[4], bool user);
/* Make memory OVM wrote visible to a guest that runs with its caches off. */
void arch_dcache_clean_range(u32 addr, u32 size);

/* The vCPU state beyond the frame: banked registers and non-secure CP15 (context.S). */
void arch_context_save(struct arch_context *ctx);
void arch_context_restore(const struct arch_context *ctx);
/* From one user-mode vCPU to another: the little of the context PL0 can change or
 * that differs between VMs (their ASIDs keep the TLB valid). */
void arch_user_context_switch(struct arch_context *prev, const struct arch_context *next);
/* Whether that is enough between these two vCPUs (else the full save and restore). */
bool arch_user_switch_holds(const struct arch_regs *prev, const struct arch_upcall *prev_up,
			    const struct arch_regs *next, const struct arch_upcall *next_up);

/*
 * VFP/NEON for the VMs that use it (vm_config.fpu): state as reset leaves it (a
 * user-mode guest's with CP10/CP11 and the unit already on, as OVM owns its CPACR),
 * saved and restored in full, and the non-secure world's access to the coprocessors,
 * granted only while such a vCPU holds the core.
 */
void arch_fpu_init(struct arch_fpu *fpu, bool user);
void arch_fpu_save(struct arch_fpu *fpu);
void arch_fpu_restore(const struct arch_fpu *fpu);
void arch_fpu_grant(bool granted);

/*
 * A supervisor-mode vCPU takes its own lines directly (group 1, at IRQ). While it
 * does not hold a core it shares, they are held pending at the GIC CPU interface
 * (its priority mask closed to group 1) and reach it at its next dispatch; the mask
 * it set itself goes with it.
 */
u32 arch_direct_irqs_hold(void);
void arch_direct_irqs_resume(u32 mask);
/* Its mask when it first runs: open, as a supervisor-mode guest always found it (a
 * kernel's GIC driver then sets its own). */
#define ARCH_DIRECT_IRQS_RESET_MASK 0xffu

/* Memory separation: VM `vm`'s flat translation table over [base, base + size). */
struct vm_config;

struct guest_mapping {
	u32 supersections;
	u32 sections;
	/* 4 KiB device pages passed through; a device that could not be mapped is not counted. */
	u32 device_pages;
};
struct guest_mapping arch_guest_map(u32 vm, const struct vm_config *config);
/* The VM's table and, for a user-mode guest, the rest of the non-secure CP15 state OVM
 * keeps for it (the shim's vectors, caches and MMU on), which it cannot change. */
void arch_context_use_table(struct arch_context *ctx, u32 vm, bool user);
/* Boot core, before any VM is mapped: the shim, user-mode guests' non-secure vectors. */
void arch_shim_init(void);
/* Where OVM's own code and the VMs' tables lie, for HC_SELF_CHECK: part `index`
 * (0..), false past the last. */
bool arch_integrity_part(u32 index, u32 *base, u32 *size);

/*
 * A user-mode vCPU's traps (supervisor call, undefined instruction, aborts) reach
 * OVM through its shim by SMC. arch_user_trap says which it was and rewrites the
 * frame to the user state it came from: after the SVC, or at the faulting
 * instruction, whose details go to `fault`.
 */
enum arch_trap { ARCH_TRAP_HYPERCALL, ARCH_TRAP_FAULT, ARCH_TRAP_STRAY };
struct arch_fault {
	u32 kind; /* OVM_FAULT_* */
	u32 pc;
	u32 cpsr;
	u32 addr;
	u32 status;
};
enum arch_trap arch_user_trap(struct arch_regs *regs, struct arch_fault *fault);
/* HC_UPCALL_SETUP, its arguments checked: also the guest's TPIDRURO, live and in ctx. */
void arch_upcall_setup(struct arch_upcall *up, struct arch_context *ctx, u32 area, u32 irq_entry,
		       u32 fault_entry);
/* Resume the guest at its fault entry with the fault in its area. */
void arch_upcall_fault(struct arch_regs *regs, struct arch_upcall *up,
		       const struct arch_fault *fault);

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

/* Interrupt lines are OVM's (group 0, FIQ to the monitor), disabled until claimed for a
 * vCPU or released to a supervisor-mode HRT guest (group 1, for it to enable). */
void arch_irq_claim(u32 irq, u32 core);
void arch_irq_release(u32 irq, u32 core);
/* Make a group-1 line pending, as its device would: a doorbell no device raises. */
void arch_irq_pend(u32 irq);
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

/* Deliver a virtual interrupt to the running guest (its banked registers are live):
 * an emulated IRQ exception, or an upcall. */
void arch_inject_irq(struct arch_regs *regs, struct arch_upcall *up);
bool arch_guest_irqs_masked(const struct arch_regs *regs, const struct arch_upcall *up);
/* The guest masks interrupts now and one waits: true if the guest calls in by itself
 * when it can take it (a user-mode guest, told in its area); false if OVM must look
 * again later (a supervisor-mode guest, which unmasks with no call). */
bool arch_irq_wait(const struct arch_regs *regs, struct arch_upcall *up);

/* The non-secure side's access to the private region (the SCU's SNSAC, which QEMU does
 * not model): a core's private timer and watchdog only on `cores` (where a guest reads
 * them itself), the global timer on every core (user-mode guests' tables map it
 * read-only, for the time), the SCU never. */
void arch_core_timers_grant(u32 cores);
/* OVM proxy for this core's private timer or watchdog (in timer mode only): false for a
 * register or value OVM refuses. */
enum arch_core_timer { ARCH_PRIVATE_TIMER, ARCH_WATCHDOG };
bool arch_core_timer_access(enum arch_core_timer timer, u32 reg, bool write, u32 value,
			    u32 *result);

__attribute__((noreturn)) void arch_enter_guest(struct arch_regs *regs);

/* The core's side of the world switch (core/entry.c). */
enum entry_kind { ENTRY_SMC, ENTRY_FIQ, ENTRY_IRQ, ENTRY_KINDS };
void core_entry(u32 core, enum entry_kind kind);
/* An SMC: a supervisor-mode guest's hypercall, or a user-mode guest's trap via its shim;
 * counted, handled, and the frame to resume returned. */
struct arch_regs *core_smc(struct arch_regs *regs);
void irq_dispatch(u32 irq);
/* The frame to resume: the same vCPU or the one the scheduler picked. */
struct arch_regs *core_exit(void);

#endif
