/*
 * Monitor vectors and the world switch. While a guest runs, the monitor's SP
 * points just past the current vCPU's struct arch_regs; an exception into
 * monitor mode pushes the guest's registers straight into that frame, then
 * switches to the core's monitor stack for C. C returns the frame to resume
 * (the same vCPU or another one), which is popped and returned to with RFE.
 */
#include <arch/layout.h>
#include <asm_defs.h>

#define GICC_IAR 0x0c
#define GICC_EOIR 0x10
#define PSR_I 0x80
#define PSR_T 0x20
/* Bits of the CPSR that are 0 in user mode outside a Thumb IT block: IT, mode[3:0]. */
#define USER_OUTSIDE_IT 0x0600fc0f
#define SCTLR_V (1 << 13)
#define SCTLR_EE (1 << 25)
#define SCTLR_TE (1 << 30)
/* What an IRQ entry keeps of the interrupted CPSR: all but mode, T, E, J and IT. */
#define PSR_KEEP_ON_IRQ 0xf8ff01c0

	.syntax unified
	.arm

	.section .text.monitor, "ax"
	.balign 32
	.global monitor_vectors
monitor_vectors:
	b	mon_unexpected			@ 0x00 unused in the monitor table
	b	mon_unexpected			@ 0x04 unused in the monitor table
	b	mon_smc				@ 0x08 SMC: a hypercall
	b	mon_unexpected			@ 0x0c prefetch abort: SCR.EA=0 keeps these away
	b	mon_unexpected			@ 0x10 data abort: likewise
	b	mon_unexpected			@ 0x14 unused
	b	mon_irq				@ 0x18 IRQ, only while SCR.IRQ routes it here
	b	mon_fiq				@ 0x1c FIQ: OVM's group-0 interrupts

/* Push the interrupted world's r0-r12, return address and CPSR into the vCPU frame. */
.macro save_guest
	srsdb	sp!, #0x16			@ [sp-8] = lr_mon (guest pc), [sp-4] = spsr_mon (guest cpsr)
	push	{r0-r12}
.endm

/* Leave the frame for this core's monitor stack, where C runs. r0 = the frame. */
.macro to_monitor_stack
	mov	r0, sp				@ r0 = struct arch_regs *, C's first argument
	mrc	p15, 0, r12, c0, c0, 5		@ r12 = this core (MPIDR), for its stack
	and	r12, r12, #0xff
	ldr	sp, =__mon_stacks_end
	sub	sp, sp, r12, lsl #MON_STACK_SHIFT
.endm

/*
 * The line in r7 (IAR in r6; r4 = the core's irq_lines, r5 = GICC) for the
 * vCPU at \vcpu: masked at the distributor until that vCPU's EOI, pending on
 * the vCPU for its irq_ack, ended at the GIC, counted. Uses r3, r10-r12.
 */
.macro pend_line vcpu
	and	r10, r7, #31
	mov	r11, #1
	lsl	r11, r11, r10			@ r11 = the line's bit in its word
	lsr	r10, r7, #5			@ r10 = that word's index
	ldr	r12, [r4, #IRQ_LINES_ICENABLER]
	str	r11, [r12, r10, lsl #2]		@ GICD_ICENABLER: masked until the EOI
	add	r12, \vcpu, #VCPU_VIRQ_PENDING	@ r12 = the vCPU's pending words
	ldr	r3, [r12, r10, lsl #2]
	orr	r3, r3, r11
	str	r3, [r12, r10, lsl #2]
	str	r6, [r5, #GICC_EOIR]
	ldr	r3, [r4, #IRQ_LINES_FAST_DELIVERIES]
	add	r3, r3, #1
	str	r3, [r4, #IRQ_LINES_FAST_DELIVERIES]
.endm

mon_smc:
	save_guest
	to_monitor_stack
	bl	arch_handle_smc
	b	arch_world_enter

/*
 * FIQ. The fast path delivers a routed line whose target vCPU holds this core
 * and takes interrupts, which is interrupt scheduling's "at once" case: no
 * scheduling decision is due, so it stays here, in a few dozen instructions
 * (the evaluation measures them). It masks the line until the guest's EOI,
 * makes it pending on the vCPU, ends it at the GIC and emulates the IRQ
 * exception entry as arch_inject_irq does. A line for an NRT vCPU that does
 * not hold the core is the "deferred" case, with no decision due either (an
 * interrupt never lets an NRT vCPU preempt): masked, made pending on that
 * vCPU for its next dispatch, ended, and the running guest resumed, so an
 * SRT job is held up as briefly as can be. Anything else goes to C.
 * Until the IRQ bank is written, SCR is still the guest's (NS set), so the
 * CP15 reads reach the guest's own SCTLR and VBAR.
 */
mon_fiq:
	sub	lr, lr, #4			@ lr_mon = the instruction the FIQ interrupted
	save_guest				@ sp = the running vCPU's frame (struct vcpu)
	ldr	r4, [sp, #VCPU_IRQ_LINES]	@ r4 = this core's struct irq_lines
	ldr	r5, [r4, #IRQ_LINES_GICC]	@ r5 = GIC CPU interface
	ldr	r6, [r5, #GICC_IAR]		@ r6 = IAR: the interrupt, now active
	ubfx	r7, r6, #0, #10			@ r7 = its id
	cmp	r7, #IRQ_LINES_COUNT
	bhs	fiq_slow			@ spurious, or not a routable line
	ldr	r8, [r4, r7, lsl #2]		@ r8 = the line's target vCPU on this core
	cmp	r8, sp
	bne	fiq_other			@ another vCPU's (or OVM's own)
	ldrb	r9, [sp, #VCPU_UPCALL_USER]
	cmp	r9, #0
	bne	fiq_user			@ a user-mode guest: an upcall
	ldrd	r8, r9, [sp, #ARCH_REGS_PC]	@ r8 = guest pc, r9 = guest cpsr
	tst	r9, #PSR_I
	bne	fiq_slow			@ the guest masks IRQs: it waits in C's queue
	pend_line sp
	mrc	p15, 0, r10, c1, c0, 0		@ r10 = guest SCTLR
	mrc	p15, 0, r11, c12, c0, 0		@ r11 = guest VBAR ...
	tst	r10, #SCTLR_V
	ldrne	r11, =0xffff0000		@ ... or the high vectors
	mov	r3, #SCR_OVM			@ secure: a mode change now stays secure
	mcr	p15, 0, r3, c1, c1, 0
	isb
	cps	#0x12				@ IRQ mode: LR_irq, SPSR_irq as the hardware sets them
	add	lr, r8, #4
	msr	spsr_cxsf, r9
	cps	#0x16
	mov	r3, #SCR_GUEST			@ back to the guest's SCR; RFE synchronizes it
	mcr	p15, 0, r3, c1, c1, 0
	ldr	r3, =PSR_KEEP_ON_IRQ		@ r9 = the CPSR at the guest's IRQ vector:
	and	r9, r9, r3
	orr	r9, r9, #0x92			@ IRQ mode, IRQs masked,
	orr	r9, r9, #0x100			@ asynchronous aborts masked,
	and	r3, r10, #SCTLR_TE
	orr	r9, r9, r3, lsr #25		@ T from SCTLR.TE,
	and	r3, r10, #SCTLR_EE
	orr	r9, r9, r3, lsr #16		@ E from SCTLR.EE
	add	r8, r11, #0x18			@ r8 = the guest's IRQ vector
	strd	r8, r9, [sp, #ARCH_REGS_PC]
	pop	{r0-r12}
	rfeia	sp!

/*
 * The same for a user-mode guest: an upcall (arch_inject_irq in C). Its mask is
 * a word of its area; while it is set the line waits, and the guest is told so
 * in the area's pending word, for it to call in (HC_IRQ_RESUME) when it clears
 * its mask. C handles the rest: a frame not in user mode is at the shim's
 * vector, about to trap; one inside a Thumb IT block cannot be resumed from
 * user mode with its IT state, so the upcall waits until it is out of it.
 */
fiq_user:
	ldr	r0, [sp, #VCPU_UPCALL_AREA]	@ r0 = the guest's area (before it has one: OVM's, masked)
	ldrd	r8, r9, [sp, #ARCH_REGS_PC]	@ r8 = guest pc, r9 = guest cpsr
	ldr	r1, =USER_OUTSIDE_IT		@ user mode is the one whose low four bits are 0
	tst	r9, r1
	bne	fiq_slow			@ not in user mode, or in an IT block
	ldr	r1, [r0, #AREA_MASKED]		@ r1 = the guest's mask
	pend_line sp
	mov	r2, #1
	cmp	r1, #0
	strne	r2, [r0, #AREA_PENDING]		@ masked: it waits, and the guest knows
	bne	fiq_resume
	tst	r9, #PSR_T
	orrne	r8, r8, #1			@ Thumb: bit 0 set, for the guest's return
	strd	r8, r9, [r0, #AREA_PC]		@ where the guest was
	str	r2, [r0, #AREA_MASKED]
	ldr	r8, [sp, #VCPU_UPCALL_IRQ]	@ r8 = its interrupt entry, r9 = user mode there
	mov	r9, #USER_UPCALL_CPSR
	strd	r8, r9, [sp, #ARCH_REGS_PC]
fiq_resume:
	pop	{r0-r12}
	rfeia	sp!

fiq_other:
	cmp	r8, #0
	beq	fiq_slow			@ OVM's own line: schedule
	ldrb	r9, [r8, #VCPU_SE_LEVEL]	@ r9 = the target's level
	cmp	r9, #RT_LEVEL_NRT
	bne	fiq_slow			@ it may preempt: schedule
	pend_line r8
	pop	{r0-r12}			@ the running guest, as it was
	rfeia	sp!

fiq_slow:
	to_monitor_stack
	mov	r0, r6				@ r0 = the IAR already read
	bl	arch_handle_fiq
	b	arch_world_enter

mon_irq:
	sub	lr, lr, #4
	save_guest
	to_monitor_stack
	bl	arch_handle_irq
	b	arch_world_enter

mon_unexpected:
	mov	r0, #0x16			@ r0 = the mode that faulted (monitor)
	mov	r1, lr				@ r1 = where
	b	fault_common

/* r0 = struct arch_regs * of the vCPU to run; SCR is already set for it. */
	.global arch_world_enter
arch_world_enter:
	mov	sp, r0				@ sp = frame; after RFE it is the frame's end
	pop	{r0-r12}
	rfeia	sp!				@ pc, cpsr from the frame: into the guest

/*
 * Faults in OVM's own code arrive through the secure vector table, in modes
 * whose banked SP belongs to the guest; use the monitor stack instead and stop.
 */
	.balign 32
	.global secure_vectors
secure_vectors:
	b	.				@ 0x00 reset
	b	sec_undef			@ 0x04 undefined instruction
	b	.				@ 0x08 SVC: OVM never issues one
	b	sec_pabt			@ 0x0c prefetch abort
	b	sec_dabt			@ 0x10 data abort
	b	.				@ 0x14 unused
	b	.				@ 0x18 IRQ: masked in OVM
	b	.				@ 0x1c FIQ: masked in OVM

sec_undef:
	mov	r0, #0x1b			@ r0 = undefined mode
	sub	r1, lr, #4			@ r1 = faulting instruction
	b	fault_common
sec_pabt:
	mov	r0, #0x17			@ r0 = abort mode
	sub	r1, lr, #4
	b	fault_common
sec_dabt:
	mov	r0, #0x17
	sub	r1, lr, #8
	b	fault_common

fault_common:
	mrc	p15, 0, r2, c0, c0, 5		@ r2 = MPIDR, to find this core's stack
	and	r2, r2, #0xff
	ldr	sp, =__mon_stacks_end
	sub	sp, sp, r2, lsl #MON_STACK_SHIFT
	bl	arch_fatal_exception
	b	.
