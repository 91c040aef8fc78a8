/*
 * Swapping the rest of a non-secure vCPU (struct arch_context in regs.h).
 * The banked SP/LR/SPSR of USR, SVC, ABT, UND, IRQ and FIQ are reached by
 * switching into each mode from the monitor (the banks are shared by both
 * worlds); the CP15 registers with SCR.NS set, which selects their
 * non-secure copies. Only r0-r3 are used: r8-r12 are banked in FIQ mode.
 * Interrupts stay masked throughout (they are masked in monitor mode).
 */
#include <asm_defs.h>

	.syntax unified
	.arm

.macro cp15_ns_access r_scr, r_tmp
	mrc	p15, 0, \r_scr, c1, c1, 0	@ r_scr = SCR, to restore
	orr	\r_tmp, \r_scr, #1		@ SCR.NS = 1: CP15 accesses hit the non-secure bank
	mcr	p15, 0, \r_tmp, c1, c1, 0
	isb
.endm

.macro cp15_secure_access r_scr
	mcr	p15, 0, \r_scr, c1, c1, 0
	isb
.endm

/* void arch_context_save(struct arch_context *ctx): r0 = ctx, advanced as fields are stored */
	.global arch_context_save
arch_context_save:
	cps	#0x1f				@ SYS: the USR bank
	str	sp, [r0], #4
	str	lr, [r0], #4
	cps	#0x13				@ SVC
	mrs	r1, spsr
	str	sp, [r0], #4
	str	lr, [r0], #4
	str	r1, [r0], #4
	cps	#0x17				@ ABT
	mrs	r1, spsr
	str	sp, [r0], #4
	str	lr, [r0], #4
	str	r1, [r0], #4
	cps	#0x1b				@ UND
	mrs	r1, spsr
	str	sp, [r0], #4
	str	lr, [r0], #4
	str	r1, [r0], #4
	cps	#0x12				@ IRQ
	mrs	r1, spsr
	str	sp, [r0], #4
	str	lr, [r0], #4
	str	r1, [r0], #4
	cps	#0x11				@ FIQ: r8-r12 too
	mrs	r1, spsr
	stmia	r0!, {r8-r12}
	str	sp, [r0], #4
	str	lr, [r0], #4
	str	r1, [r0], #4
	cps	#0x16				@ back to the monitor

	cp15_ns_access r3, r2			@ r3 = SCR to restore, r1/r2 = scratch
	mrc	p15, 0, r1, c1, c0, 0		@ SCTLR
	mrc	p15, 0, r2, c2, c0, 0		@ TTBR0
	stmia	r0!, {r1, r2}
	mrc	p15, 0, r1, c2, c0, 1		@ TTBR1
	mrc	p15, 0, r2, c2, c0, 2		@ TTBCR
	stmia	r0!, {r1, r2}
	mrc	p15, 0, r1, c3, c0, 0		@ DACR
	mrc	p15, 0, r2, c5, c0, 0		@ DFSR
	stmia	r0!, {r1, r2}
	mrc	p15, 0, r1, c5, c0, 1		@ IFSR
	mrc	p15, 0, r2, c6, c0, 0		@ DFAR
	stmia	r0!, {r1, r2}
	mrc	p15, 0, r1, c6, c0, 2		@ IFAR
	mrc	p15, 0, r2, c7, c4, 0		@ PAR
	stmia	r0!, {r1, r2}
	mrc	p15, 0, r1, c10, c2, 0		@ PRRR
	mrc	p15, 0, r2, c10, c2, 1		@ NMRR
	stmia	r0!, {r1, r2}
	mrc	p15, 0, r1, c12, c0, 0		@ VBAR
	mrc	p15, 0, r2, c13, c0, 1		@ CONTEXTIDR
	stmia	r0!, {r1, r2}
	mrc	p15, 0, r1, c13, c0, 2		@ TPIDRURW
	mrc	p15, 0, r2, c13, c0, 3		@ TPIDRURO
	stmia	r0!, {r1, r2}
	mrc	p15, 0, r1, c13, c0, 4		@ TPIDRPRW
	mrc	p15, 2, r2, c0, c0, 0		@ CSSELR
	stmia	r0!, {r1, r2}
	cp15_secure_access r3
	bx	lr

/* void arch_context_restore(const struct arch_context *ctx): r0 = ctx */
	.global arch_context_restore
arch_context_restore:
	cps	#0x1f
	ldr	sp, [r0], #4
	ldr	lr, [r0], #4
	cps	#0x13
	ldr	sp, [r0], #4
	ldr	lr, [r0], #4
	ldr	r1, [r0], #4
	msr	spsr_cxsf, r1
	cps	#0x17
	ldr	sp, [r0], #4
	ldr	lr, [r0], #4
	ldr	r1, [r0], #4
	msr	spsr_cxsf, r1
	cps	#0x1b
	ldr	sp, [r0], #4
	ldr	lr, [r0], #4
	ldr	r1, [r0], #4
	msr	spsr_cxsf, r1
	cps	#0x12
	ldr	sp, [r0], #4
	ldr	lr, [r0], #4
	ldr	r1, [r0], #4
	msr	spsr_cxsf, r1
	cps	#0x11
	ldmia	r0!, {r8-r12}
	ldr	sp, [r0], #4
	ldr	lr, [r0], #4
	ldr	r1, [r0], #4
	msr	spsr_cxsf, r1
	cps	#0x16

	cp15_ns_access r3, r2
	ldmia	r0!, {r1, r2}
	mcr	p15, 0, r1, c1, c0, 0		@ SCTLR
	mcr	p15, 0, r2, c2, c0, 0		@ TTBR0
	ldmia	r0!, {r1, r2}
	mcr	p15, 0, r1, c2, c0, 1		@ TTBR1
	mcr	p15, 0, r2, c2, c0, 2		@ TTBCR
	ldmia	r0!, {r1, r2}
	mcr	p15, 0, r1, c3, c0, 0		@ DACR
	mcr	p15, 0, r2, c5, c0, 0		@ DFSR
	ldmia	r0!, {r1, r2}
	mcr	p15, 0, r1, c5, c0, 1		@ IFSR
	mcr	p15, 0, r2, c6, c0, 0		@ DFAR
	ldmia	r0!, {r1, r2}
	mcr	p15, 0, r1, c6, c0, 2		@ IFAR
	mcr	p15, 0, r2, c7, c4, 0		@ PAR
	ldmia	r0!, {r1, r2}
	mcr	p15, 0, r1, c10, c2, 0		@ PRRR
	mcr	p15, 0, r2, c10, c2, 1		@ NMRR
	ldmia	r0!, {r1, r2}
	mcr	p15, 0, r1, c12, c0, 0		@ VBAR
	mcr	p15, 0, r2, c13, c0, 1		@ CONTEXTIDR
	ldmia	r0!, {r1, r2}
	mcr	p15, 0, r1, c13, c0, 2		@ TPIDRURW
	mcr	p15, 0, r2, c13, c0, 3		@ TPIDRURO
	ldmia	r0!, {r1, r2}
	mcr	p15, 0, r1, c13, c0, 4		@ TPIDRPRW
	mcr	p15, 2, r2, c0, c0, 0		@ CSSELR
	mcr	p15, 0, r0, c8, c7, 0		@ TLBIALL (non-secure entries): the next VM must not hit ours
	mcr	p15, 0, r0, c7, c5, 6		@ BPIALL
	dsb
	isb
	cp15_secure_access r3
	bx	lr

/*
 * void arch_user_context_switch(struct arch_context *prev, const struct arch_context *next):
 * from one user-mode vCPU in user mode to another (arch_user_switch_holds), only
 * what PL0 can change or OVM sets per VM. PL0 reaches no other mode's banked
 * registers and of CP15 writes only TPIDRURW; outside the shim's one SMC at each
 * vector, the other modes' banks hold nothing of a user-mode vCPU; SCTLR, TTBR1,
 * TTBCR, DACR, PRRR, NMRR and VBAR are the same for every user-mode vCPU
 * (arch_context_use_table), and the fault registers are read at the fault. The
 * TLB stays: the VMs' own entries are non-global and CONTEXTIDR gives each VM its
 * ASID. TTBR0 and the ASID change in secure state, so no non-secure table walk
 * can see one without the other.
 */
	.global arch_user_context_switch
arch_user_context_switch:
	cps	#0x1f				@ SYS: the USR bank, prev's out and next's in
	str	sp, [r0, #CTX_SP_USR]
	str	lr, [r0, #CTX_LR_USR]
	ldr	sp, [r1, #CTX_SP_USR]
	ldr	lr, [r1, #CTX_LR_USR]
	cps	#0x16				@ back to the monitor
	cp15_ns_access r3, r2			@ r3 = SCR to restore
	mrc	p15, 0, r2, c13, c0, 2		@ r2 = prev's TPIDRURW
	str	r2, [r0, #CTX_TPIDRURW]
	ldr	r2, [r1, #CTX_TTBR0]		@ r2 = next's TTBR0
	mcr	p15, 0, r2, c2, c0, 0
	add	r1, r1, #CTX_CONTEXTIDR
	ldmia	r1, {r0-r2}			@ r0 = CONTEXTIDR (ASID), r1 = TPIDRURW, r2 = TPIDRURO
	dsb					@ Cortex-A9 erratum 754322: a DSB before the ASID changes
	mcr	p15, 0, r0, c13, c0, 1
	mcr	p15, 0, r1, c13, c0, 2
	mcr	p15, 0, r2, c13, c0, 3
	mcr	p15, 0, r0, c7, c5, 6		@ BPIALL: branch predictions are not tagged by ASID
	cp15_secure_access r3			@ its ISB completes the writes before the guest runs
	bx	lr

/* u32 arch_ns_read_vbar(void), u32 arch_ns_read_sctlr(void): the running guest's own. */
	.global arch_ns_read_vbar
arch_ns_read_vbar:
	cp15_ns_access r1, r2
	mrc	p15, 0, r0, c12, c0, 0
	cp15_secure_access r1
	bx	lr

	.global arch_ns_read_sctlr
arch_ns_read_sctlr:
	cp15_ns_access r1, r2
	mrc	p15, 0, r0, c1, c0, 0
	cp15_secure_access r1
	bx	lr

/* void arch_ns_read_fault_regs(u32 regs[4]): the running guest's DFSR, DFAR, IFSR, IFAR. */
	.global arch_ns_read_fault_regs
arch_ns_read_fault_regs:
	cp15_ns_access r3, r2			@ r3 = SCR to restore
	mrc	p15, 0, r1, c5, c0, 0		@ DFSR
	mrc	p15, 0, r2, c6, c0, 0		@ DFAR
	stmia	r0!, {r1, r2}
	mrc	p15, 0, r1, c5, c0, 1		@ IFSR
	mrc	p15, 0, r2, c6, c0, 2		@ IFAR
	stmia	r0!, {r1, r2}
	cp15_secure_access r3
	bx	lr

/* void arch_ns_write_tpidruro(u32 value): the running guest's user read-only thread ID. */
	.global arch_ns_write_tpidruro
arch_ns_write_tpidruro:
	cp15_ns_access r1, r2			@ r1 = SCR to restore
	mcr	p15, 0, r0, c13, c0, 3
	cp15_secure_access r1
	bx	lr
