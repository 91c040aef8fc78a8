/*
 * The guests' vector table. An IRQ arrives here either from the hardware
 * (an HRT guest's own lines) or as OVM's emulated exception entry (SRT/NRT:
 * OVM sets LR_irq and SPSR_irq as the hardware would), so one handler
 * serves both. guest_irq() is the guest's; faults end in guest_fault().
 */
	.syntax unified
	.arm

	.section .text.vectors, "ax"
	.balign 32
	.global guest_vectors
guest_vectors:
	b	.				@ reset
	b	undef_entry			@ undefined instruction
	b	.				@ SVC: unused
	b	pabt_entry			@ prefetch abort
	b	dabt_entry			@ data abort
	b	.				@ unused
	b	irq_entry			@ IRQ
	b	.				@ FIQ: OVM's, never ours

irq_entry:
	sub	lr, lr, #4			@ lr = the interrupted instruction
	push	{r0-r3, r12, lr}		@ what the C calling convention may clobber
	bl	guest_irq
	pop	{r0-r3, r12, lr}
	movs	pc, lr				@ return, CPSR from SPSR_irq

undef_entry:
	mov	r0, #1				@ r0 = kind, r1 = where
	sub	r1, lr, #4
	b	guest_fault
pabt_entry:
	mov	r0, #3
	sub	r1, lr, #4
	b	guest_fault
dabt_entry:
	push	{r0, r1}
	ldr	r0, =probe_state		@ r0 = &probe_state, r1 = its value
	ldr	r1, [r0]
	cmp	r1, #1				@ 1: guest_probe_read is reading
	bne	1f
	mov	r1, #2				@ 2: and that read faulted
	str	r1, [r0]
	pop	{r0, r1}
	subs	pc, lr, #4			@ resume after the faulting load
1:	pop	{r0, r1}
	mov	r0, #4
	sub	r1, lr, #8
	b	guest_fault

/*
 * A user-mode guest's upcalls (the ABI is in ovm/include/ovm/hypercall.h).
 * OVM enters them with every register as the guest left it and the place it
 * left in this vCPU's area (TPIDRURO points there). Each builds a frame on the
 * guest's own stack: r0-r4, r12, lr, then the return address and CPSR. The
 * interrupt entry calls the handler first (the latency probes time that) and
 * takes the return address and CPSR from the area afterwards: they stay valid
 * while interrupts are masked, and guest_irq does not unmask them.
 */
#include "upcall.h"

	.global upcall_irq_entry
upcall_irq_entry:
	sub	sp, sp, #8			@ room for the return address and CPSR
	push	{r0-r4, r12, lr}
	mov	r4, sp				@ r4 = the frame, kept by the call
	bic	sp, sp, #7			@ 8-byte aligned for C
	bl	guest_irq
	mov	sp, r4
	mrc	p15, 0, r0, c13, c0, 3		@ r0 = this vCPU's area
	ldr	r1, [r0, #AREA_PC]
	ldr	r2, [r0, #AREA_CPSR]
	str	r1, [sp, #28]
	str	r2, [sp, #32]
	mov	r1, #0
	str	r1, [r0, #AREA_MASKED]		@ unmasked: an upcall may nest from here on
	ldr	r1, [r0, #AREA_PENDING]
	cmp	r1, #0
	movne	r0, #HC_IRQ_RESUME_NR		@ one came while masked: take it now
	svcne	#0
	ldr	r1, [sp, #32]
	msr	APSR_nzcvqg, r1			@ the interrupted flags
	pop	{r0-r4, r12, lr}
	ldr	pc, [sp], #8			@ back where the guest was (bit 0: Thumb)

	.global upcall_fault_entry
upcall_fault_entry:
	sub	sp, sp, #8
	push	{r0-r4, r12, lr}
	mrc	p15, 0, r0, c13, c0, 3		@ r0 = this vCPU's area, guest_user_fault's argument
	ldr	r1, [r0, #AREA_FAULT_PC]
	ldr	r2, [r0, #AREA_FAULT_CPSR]
	str	r1, [sp, #28]
	str	r2, [sp, #32]
	mov	r4, sp
	bic	sp, sp, #7
	bl	guest_user_fault		@ r0 = where to resume (it returns only to resume)
	mov	sp, r4
	str	r0, [sp, #28]
	ldr	r1, [sp, #32]
	msr	APSR_nzcvqg, r1
	pop	{r0-r4, r12, lr}
	ldr	pc, [sp], #8
