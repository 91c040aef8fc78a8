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
