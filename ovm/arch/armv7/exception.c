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
void arch_irq_bank_write(u32 lr, u32 spsr);

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
	core_entry(ENTRY_SMC);
	hypercall_dispatch(regs);
	struct arch_regs *next = core_exit();
	leave_secure();
	return next;
}

struct arch_regs *arch_handle_fiq(void)
{
	enter_secure();
	core_entry(ENTRY_FIQ);
	take_interrupts();
	struct arch_regs *next = core_exit();
	leave_secure();
	return next;
}

struct arch_regs *arch_handle_irq(void)
{
	enter_secure();
	core_entry(ENTRY_IRQ);
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

void arch_inject_irq(struct arch_regs *regs)
{
	u32 sctlr = arch_ns_read_sctlr();
	u32 vectors = (sctlr & SCTLR_V) ? HIGH_VECTORS : arch_ns_read_vbar();
	u32 cpsr = regs->cpsr & ~(PSR_MODE_MASK | PSR_T | PSR_E | PSR_J | PSR_IT_MASK);

	/* As the hardware would: LR_irq = next instruction + 4, SPSR_irq = the interrupted CPSR. */
	arch_irq_bank_write(regs->pc + 4, regs->cpsr);
	cpsr |= PSR_MODE_IRQ | PSR_I | PSR_A;
	if (sctlr & SCTLR_TE)
		cpsr |= PSR_T;
	if (sctlr & SCTLR_EE)
		cpsr |= PSR_E;
	regs->cpsr = cpsr;
	regs->pc = vectors + VECTOR_IRQ;
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
