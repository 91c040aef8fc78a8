#ifndef ARCH_REGS_H
#define ARCH_REGS_H

#include <lib/types.h>
#include <ovm/hypercall.h>

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

/* The instructions, not C, fix the frame: 13 registers pushed below the 2 words SRS stores. */
_Static_assert(sizeof(struct arch_regs) == (13 + 2) * 4, "monitor.S frame layout");

/*
 * The rest of a non-secure vCPU: what is banked per mode (and shared between
 * the worlds, so it must be swapped when another vCPU takes the core) and the
 * non-secure copies of the CP15 registers a guest owns. context.S saves and
 * restores the fields in exactly this order.
 */
struct arch_context {
	u32 sp_usr, lr_usr;
	u32 sp_svc, lr_svc, spsr_svc;
	u32 sp_abt, lr_abt, spsr_abt;
	u32 sp_und, lr_und, spsr_und;
	u32 sp_irq, lr_irq, spsr_irq;
	u32 r8_fiq, r9_fiq, r10_fiq, r11_fiq, r12_fiq, sp_fiq, lr_fiq, spsr_fiq;
	u32 sctlr, ttbr0, ttbr1, ttbcr, dacr;
	u32 dfsr, ifsr, dfar, ifar, par;
	u32 prrr, nmrr, vbar, contextidr;
	u32 tpidrurw, tpidruro, tpidrprw, csselr;
};

/* The words context.S moves, one instruction (or register of a list) each. */
_Static_assert(sizeof(struct arch_context) == 40 * 4, "context.S layout");

/*
 * A VFP/NEON-using vCPU's floating-point state (fpu.S, in this order): the 32
 * double registers, then CPACR (common to both worlds, which a supervisor-mode
 * guest sets itself), FPEXC and FPSCR. Switched eagerly: under icount a 16-register
 * VSTM or VLDM is one instruction, so trapping the first use would cost more than
 * it saves.
 */
struct arch_fpu {
	u64 d[32];
	u32 cpacr, fpexc, fpscr;
};

_Static_assert(sizeof(struct arch_fpu) == 32 * 8 + 3 * 4 + 4, "fpu.S layout");

/*
 * How OVM reaches a vCPU's guest with interrupts and faults. A supervisor-mode
 * guest takes them at its own vectors (OVM emulates the IRQ exception). A
 * user-mode guest gets upcalls: OVM resumes it at the entries it registered
 * (HC_UPCALL_SETUP), with its state in its struct ovm_vcpu_area. monitor.S's
 * FIQ fast path reads these fields (asm_defs.c).
 */
struct arch_upcall {
	/* The guest runs in non-secure user mode under OVM's shim. */
	u8 user;
	/* OVM's pointer to the guest's area (inside its grant); until the guest sets one
	 * up, arch_upcall_unset, OVM's own, which masks interrupts for good. */
	struct ovm_vcpu_area *area;
	u32 irq_entry;
	/* 0: a fault halts the vCPU. */
	u32 fault_entry;
};

extern struct ovm_vcpu_area arch_upcall_unset;

#endif
