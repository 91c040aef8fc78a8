/*
 * VFP/NEON state of the vCPUs that use it (struct arch_fpu in regs.h). OVM runs
 * in the secure world, where NSACR does not apply, but CPACR does: it is opened
 * for the copy and then set to the vCPU's, and FPEXC.EN is set to reach the
 * registers. Only r0-r3 and r12 are used; interrupts are masked (monitor mode).
 */
	.syntax unified
	.arm
	.fpu	neon

#define CPACR_CP10_CP11_FULL (0xf << 20)
#define FPEXC_EN (1 << 30)

/* void arch_fpu_save(struct arch_fpu *fpu): r0 = fpu, advanced past the registers */
	.global arch_fpu_save
arch_fpu_save:
	mrc	p15, 0, r1, c1, c0, 2		@ r1 = the vCPU's CPACR
	orr	r2, r1, #CPACR_CP10_CP11_FULL
	mcr	p15, 0, r2, c1, c0, 2
	isb
	vmrs	r2, fpexc			@ r2 = the vCPU's FPEXC
	orr	r3, r2, #FPEXC_EN
	vmsr	fpexc, r3
	vstmia	r0!, {d0-d15}
	vstmia	r0!, {d16-d31}
	vmrs	r3, fpscr			@ r3 = FPSCR
	stmia	r0, {r1-r3}
	bx	lr

/* void arch_fpu_restore(const struct arch_fpu *fpu): r0 = fpu */
	.global arch_fpu_restore
arch_fpu_restore:
	mrc	p15, 0, r1, c1, c0, 2
	orr	r1, r1, #CPACR_CP10_CP11_FULL
	mcr	p15, 0, r1, c1, c0, 2
	isb
	mov	r12, #FPEXC_EN
	vmsr	fpexc, r12
	vldmia	r0!, {d0-d15}
	vldmia	r0!, {d16-d31}
	ldmia	r0, {r1-r3}			@ r1 = CPACR, r2 = FPEXC, r3 = FPSCR
	vmsr	fpscr, r3
	vmsr	fpexc, r2
	mcr	p15, 0, r1, c1, c0, 2
	isb
	bx	lr
