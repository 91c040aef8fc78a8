/*
 * C side of the monitor vectors. OVM's C code runs with SCR.NS clear so that
 * CP15 accesses reach the secure bank; the guest's SCR is restored last.
 */
#include <arch/arch.h>
#include <arch/cpu.h>
#include <arch/gic.h>
#include <core/console.h>

/* Guests: non-secure; FIQs (group 0) to the monitor; IRQs stay with the guest;
 * the guest may mask asynchronous aborts but never FIQs (SCR.FW=0). */
#define SCR_GUEST (SCR_NS | SCR_FIQ | SCR_AW)

static inline void enter_secure(void)
{
	write_scr(SCR_GUEST & ~SCR_NS);
	isb();
}

static inline void leave_secure(void)
{
	write_scr(SCR_GUEST);
	isb();
}

struct arch_regs *arch_handle_smc(struct arch_regs *regs)
{
	enter_secure();
	struct arch_regs *next = hypercall_dispatch(regs);
	leave_secure();
	return next;
}

struct arch_regs *arch_handle_fiq(struct arch_regs *regs)
{
	enter_secure();
	struct arch_regs *next = regs;
	u32 iar = gic_ack();
	u32 irq = iar & 0x3ff;
	if (irq < GIC_SPURIOUS) {
		next = irq_dispatch(irq, regs);
		gic_eoi(iar);
	}
	leave_secure();
	return next;
}

struct arch_regs *arch_handle_irq(struct arch_regs *regs)
{
	enter_secure();
	console_printf("[ovm] core%u: IRQ reached the monitor (SCR.IRQ is never set)\n", cpu_id());
	leave_secure();
	return regs;
}

extern void arch_world_enter(struct arch_regs *regs) __attribute__((noreturn));

void arch_enter_guest(struct arch_regs *regs)
{
	leave_secure();
	arch_world_enter(regs);
}

__attribute__((noreturn)) void arch_fatal_exception(u32 mode, u32 pc)
{
	console_printf("[ovm] core%u: FATAL exception in OVM (mode 0x%x) at pc=%p\n", cpu_id(), mode,
		       (void *)(uintptr_t)pc);
	for (;;)
		wfi();
}
