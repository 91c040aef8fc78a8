/*
 * C side of the monitor vectors. OVM's C code runs with SCR.NS clear so that
 * CP15 accesses reach the secure bank; the guest's SCR is restored last.
 */
#include <arch/arch.h>
#include <arch/cpu.h>
#include <arch/gic.h>
#include <arch/layout.h>
#include <core/console.h>

_Static_assert(SCR_GUEST == (SCR_NS | SCR_FIQ | SCR_AW), "layout.h");
_Static_assert(SCR_OVM == (SCR_GUEST & ~SCR_NS), "layout.h");

#define PSR_MODE_MASK 0x1fu
#define PSR_T BIT(5)
#define PSR_E BIT(9)
#define PSR_J BIT(24)
#define PSR_IT_MASK ((0x3fu << 10) | (3u << 25))
#define SCTLR_V BIT(13)
#define SCTLR_EE BIT(25)
#define SCTLR_TE BIT(30)
#define HIGH_VECTORS 0xffff0000u
#define VECTOR_IRQ 0x18

u32 arch_ns_read_vbar(void);
u32 arch_ns_read_sctlr(void);

/* LR and SPSR of IRQ mode, written from the monitor (secure state only: see below). */
static inline void irq_bank_write(u32 lr, u32 spsr)
{
	/* Fixed low registers: in IRQ mode, lr and sp name IRQ mode's own. */
	register u32 new_lr __asm__("r2") = lr;
	register u32 new_spsr __asm__("r3") = spsr;

	__asm__ volatile("cps #0x12\n\t"
			 "mov lr, %0\n\t"
			 "msr spsr_cxsf, %1\n\t"
			 "cps #0x16"
			 :
			 : "r"(new_lr), "r"(new_spsr)
			 : "memory");
}

static inline void enter_secure(void)
{
	write_scr(SCR_OVM);
	isb();
}

static inline void leave_secure(void)
{
	write_scr(SCR_GUEST);
	isb();
}

/* The same emulation, for the fast path, is in monitor.S. */
void arch_inject_irq(struct arch_regs *regs)
{
	u32 sctlr = arch_ns_read_sctlr();
	u32 vectors = (sctlr & SCTLR_V) ? HIGH_VECTORS : arch_ns_read_vbar();
	u32 cpsr = regs->cpsr & ~(PSR_MODE_MASK | PSR_T | PSR_E | PSR_J | PSR_IT_MASK);

	/* As the hardware would: LR_irq = next instruction + 4, SPSR_irq = the interrupted CPSR. */
	irq_bank_write(regs->pc + 4, regs->cpsr);
	cpsr |= PSR_MODE_IRQ | PSR_I | PSR_A;
	if (sctlr & SCTLR_TE)
		cpsr |= PSR_T;
	if (sctlr & SCTLR_EE)
		cpsr |= PSR_E;
	regs->cpsr = cpsr;
	regs->pc = vectors + VECTOR_IRQ;
}

/* Every interrupt pending at this core's CPU interface, acknowledged in turn. */
static void take_interrupts(void)
{
	for (;;) {
		u32 iar = gic_ack();
		u32 irq = iar & 0x3ff;
		if (irq >= GIC_SPURIOUS)
			return;
		irq_dispatch(irq);
		gic_eoi(iar);
	}
}

struct arch_regs *arch_handle_smc(struct arch_regs *regs)
{
	enter_secure();
	core_entry(cpu_id(), ENTRY_SMC);
	hypercall_dispatch(regs);
	struct arch_regs *next = core_exit_hypercall();
	leave_secure();
	return next;
}

/*
 * FIQs that monitor.S's fast path did not deliver: `iar` is what it already
 * acknowledged (possibly spurious); whatever else is pending is taken too,
 * and the scheduler decides who runs next.
 */
struct arch_regs *arch_handle_fiq(u32 iar)
{
	enter_secure();
	core_entry(cpu_id(), ENTRY_FIQ);
	if ((iar & 0x3ff) < GIC_SPURIOUS) {
		irq_dispatch(iar & 0x3ff);
		gic_eoi(iar);
	}
	take_interrupts();
	struct arch_regs *next = core_exit();
	leave_secure();
	return next;
}

struct arch_regs *arch_handle_irq(void)
{
	enter_secure();
	core_entry(cpu_id(), ENTRY_IRQ);
	console_printf("[ovm] core%u: IRQ reached the monitor (SCR.IRQ is never set)\n", cpu_id());
	struct arch_regs *next = core_exit();
	leave_secure();
	return next;
}

void arch_irq_poll(void)
{
	take_interrupts();
}

void arch_wait_for_interrupt(void)
{
	/* Wakes on a pending interrupt even though the monitor masks them. */
	wfi();
}

bool arch_guest_irqs_masked(const struct arch_regs *regs)
{
	return (regs->cpsr & PSR_I) != 0;
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
