/*
 * C side of the monitor vectors. OVM's C code runs with SCR.NS clear so that
 * CP15 accesses reach the secure bank; the guest's SCR is restored last.
 */
#include <arch/arch.h>
#include <arch/cpu.h>
#include <arch/gic.h>
#include <arch/layout.h>
#include <arch/pagetable.h>
#include <arch/shim.h>
#include <core/console.h>

_Static_assert(SCR_GUEST == (SCR_NS | SCR_FIQ | SCR_AW), "layout.h");
_Static_assert(SCR_OVM == (SCR_GUEST & ~SCR_NS), "layout.h");

#define PSR_MODE_MASK 0x1fu
#define PSR_T BIT(5)
#define PSR_E BIT(9)
#define PSR_J BIT(24)
#define PSR_IT_MASK ((0x3fu << 10) | (3u << 25))
#define HIGH_VECTORS 0xffff0000u
#define VECTOR_IRQ 0x18

u32 arch_ns_read_vbar(void);
u32 arch_ns_read_sctlr(void);
void arch_ns_read_fault_regs(u32 regs[4]);
void arch_ns_write_tpidruro(u32 value);

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

/* LR and SPSR of a mode the shim ran in: what the exception into it saved of the guest. */
#define BANK_READ(mode)                                                            \
	__asm__ volatile("cps #" #mode "\n\t"                                      \
			 "mov %0, lr\n\t"                                          \
			 "mrs %1, spsr\n\t"                                        \
			 "cps #0x16"                                               \
			 : "=r"(lr), "=r"(spsr))

static void bank_read(u32 mode, u32 *lr_out, u32 *spsr_out)
{
	register u32 lr __asm__("r2");
	register u32 spsr __asm__("r3");

	switch (mode) {
	case PSR_MODE_UND:
		BANK_READ(0x1b);
		break;
	case PSR_MODE_SVC:
		BANK_READ(0x13);
		break;
	default:
		BANK_READ(0x17);
		break;
	}
	*lr_out = lr;
	*spsr_out = spsr;
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
static void inject_irq_exception(struct arch_regs *regs)
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

struct ovm_vcpu_area arch_upcall_unset = { .masked = 1 };

/* Where the guest is, as its upcall returns there: bit 0 set in Thumb code. */
static u32 return_address(const struct arch_regs *regs)
{
	return regs->pc | ((regs->cpsr & PSR_T) ? 1u : 0u);
}

static bool in_user_mode(const struct arch_regs *regs)
{
	return (regs->cpsr & PSR_MODE_MASK) == PSR_MODE_USR;
}

/* The same upcall, for the fast path, is in monitor.S. */
void arch_inject_irq(struct arch_regs *regs, struct arch_upcall *up)
{
	if (!up->user) {
		inject_irq_exception(regs);
		return;
	}
	struct ovm_vcpu_area *area = up->area;
	area->pc = return_address(regs);
	area->cpsr = regs->cpsr;
	area->masked = 1;
	area->pending = 0;
	regs->pc = up->irq_entry;
	regs->cpsr = USER_UPCALL_CPSR;
}

/*
 * Whether arch_user_context_switch holds all of both vCPUs: user-mode guests, and
 * both in user mode. A frame in another mode is at the shim's vector, its
 * exception's LR and SPSR still in that mode's bank, which only the full
 * switch keeps.
 */
bool arch_user_switch_holds(const struct arch_regs *prev, const struct arch_upcall *prev_up,
			    const struct arch_regs *next, const struct arch_upcall *next_up)
{
	return prev_up->user && next_up->user && in_user_mode(prev) && in_user_mode(next);
}

/*
 * Inside a Thumb IT block: the guest's upcall returns in user mode, which can
 * restore its flags but not its IT state, so it is not interrupted there (a
 * block is at most four instructions long).
 */
static bool in_it_block(const struct arch_regs *regs)
{
	return (regs->cpsr & PSR_IT_MASK) != 0;
}

bool arch_guest_irqs_masked(const struct arch_regs *regs, const struct arch_upcall *up)
{
	if (!up->user)
		return (regs->cpsr & PSR_I) != 0;
	/* At the shim's vector (an FIQ came before its SMC): the trap is handled first. */
	return !in_user_mode(regs) || in_it_block(regs) || up->area->masked != 0;
}

bool arch_irq_wait(const struct arch_regs *regs, struct arch_upcall *up)
{
	if (!up->user || (in_user_mode(regs) && in_it_block(regs)))
		return false;
	up->area->pending = 1;
	return true;
}

void arch_upcall_setup(struct arch_upcall *up, struct arch_context *ctx, u32 area, u32 irq_entry,
		       u32 fault_entry)
{
	up->area = (struct ovm_vcpu_area *)(uintptr_t)area;
	up->irq_entry = irq_entry;
	up->fault_entry = fault_entry;
	ctx->tpidruro = area;
	arch_ns_write_tpidruro(area);
}

void arch_upcall_fault(struct arch_regs *regs, struct arch_upcall *up,
		       const struct arch_fault *fault)
{
	struct ovm_vcpu_area *area = up->area;

	area->fault_kind = fault->kind;
	area->fault_pc = fault->pc | ((fault->cpsr & PSR_T) ? 1u : 0u);
	area->fault_cpsr = fault->cpsr;
	area->fault_addr = fault->addr;
	area->fault_status = fault->status;
	regs->pc = up->fault_entry;
	regs->cpsr = USER_UPCALL_CPSR;
}

/* The shim's vector each exception enters, and the mode the CPU took it in. */
static const struct {
	u8 mode;
	u8 fault;
	/* How far past the exception's instruction LR points (ARM, Thumb). */
	u8 lr_arm, lr_thumb;
} shim_slots[SHIM_SLOTS] = {
	[SHIM_SLOT_UNDEFINED] = { PSR_MODE_UND, OVM_FAULT_UNDEFINED, 4, 2 },
	[SHIM_SLOT_SVC] = { PSR_MODE_SVC, 0, 0, 0 },
	[SHIM_SLOT_PREFETCH_ABORT] = { PSR_MODE_ABT, OVM_FAULT_PREFETCH_ABORT, 4, 4 },
	[SHIM_SLOT_DATA_ABORT] = { PSR_MODE_ABT, OVM_FAULT_DATA_ABORT, 8, 8 },
};

/* A fault (or a stray exception) through the shim's vector `slot`: out of the hypercalls'
 * way, so that theirs stays a short leaf. */
static __attribute__((noinline)) enum arch_trap user_fault(struct arch_regs *regs,
							    struct arch_fault *fault, u32 offset,
							    u32 mode)
{
	/* The shim's SMC at vector `slot` returns to the next word. */
	u32 slot = offset / 4 - 1;
	u32 lr, spsr;

	if (offset % 4 || slot >= SHIM_SLOTS || !shim_slots[slot].mode || shim_slots[slot].mode != mode)
		return ARCH_TRAP_STRAY;
	bank_read(mode, &lr, &spsr);
	if ((spsr & PSR_MODE_MASK) != PSR_MODE_USR)
		return ARCH_TRAP_STRAY;
	regs->cpsr = spsr;
	regs->pc = lr - ((spsr & PSR_T) ? shim_slots[slot].lr_thumb : shim_slots[slot].lr_arm);
	u32 ns[4];
	arch_ns_read_fault_regs(ns);
	*fault = (struct arch_fault){
		.kind = shim_slots[slot].fault,
		.pc = regs->pc,
		.cpsr = spsr,
	};
	if (slot == SHIM_SLOT_DATA_ABORT) {
		fault->status = ns[0];
		fault->addr = ns[1];
	} else if (slot == SHIM_SLOT_PREFETCH_ABORT) {
		fault->status = ns[2];
		fault->addr = ns[3];
	} else {
		fault->addr = regs->pc;
	}
	return ARCH_TRAP_FAULT;
}

enum arch_trap arch_user_trap(struct arch_regs *regs, struct arch_fault *fault)
{
	u32 offset = regs->pc - shim_vectors_va();
	u32 mode = regs->cpsr & PSR_MODE_MASK;
	u32 lr, spsr;

	/* A hypercall, the case to be quick: the SVC slot's SMC, in the mode SVC enters. */
	if (offset != 4 * (SHIM_SLOT_SVC + 1) || mode != PSR_MODE_SVC)
		return user_fault(regs, fault, offset, mode);
	bank_read(PSR_MODE_SVC, &lr, &spsr);
	if ((spsr & PSR_MODE_MASK) != PSR_MODE_USR)
		return ARCH_TRAP_STRAY;
	regs->cpsr = spsr;
	regs->pc = lr;
	return ARCH_TRAP_HYPERCALL;
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
	struct arch_regs *next = core_smc(regs);
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
